//! The FHIR reference integration (`examples/fhir_sharing.rs`), run and checked exactly:
//! every role gets precisely the resources of the sections it was granted, byte for byte, and
//! the SRS refuses every other entry with `NoReadRight`.

#[path = "../examples/fhir_sharing.rs"]
mod fhir_sharing;

use std::collections::BTreeSet;

use fhir_sharing::{run, split_bundle, Report, ResourcePolicy, View, SYNTHETIC_BUNDLE};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::Value;
use sesphr::srs::Refusal;

/// The issue's policy, written out again here so the test does not check the example
/// against itself: the section of a type the policy lists.
fn listed_section(resource_type: &str) -> Option<&'static str> {
    Some(match resource_type {
        "Patient" | "RelatedPerson" => "personal",
        "Coverage" | "Claim" | "ExplanationOfBenefit" => "insurance",
        "Condition" | "Observation" | "Procedure" | "DiagnosticReport" | "AllergyIntolerance"
        | "ImagingStudy" => "medical",
        "MedicationRequest" | "MedicationStatement" | "MedicationDispense" => "prescription",
        _ => return None,
    })
}

const GRANTS: [(&str, &[&str]); 3] = [
    ("doctor", &["medical", "prescription"]),
    ("pharmacist", &["prescription"]),
    ("insurer", &["insurance"]),
];

/// The source bundle's resources as parsed values, in entry order.
fn source_resources() -> Vec<Value> {
    let bundle: Value = serde_json::from_str(SYNTHETIC_BUNDLE).unwrap();
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"].clone())
        .collect()
}

fn key(resource: &Value) -> (String, String) {
    (
        resource["resourceType"].as_str().unwrap().to_owned(),
        resource["id"].as_str().unwrap().to_owned(),
    )
}

fn run_with(policy: &ResourcePolicy, seed: u64) -> Report {
    run(
        SYNTHETIC_BUNDLE,
        policy,
        &mut ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap()
}

/// Checks one view against the entry indices it must see: exact set and order, byte-identical
/// plaintext, a rebuilt bundle with exactly those resources, and `NoReadRight` for the rest.
fn check_view(view: &View, expected: &[usize], source: &[Value], via_srs: bool) {
    let verbatim = split_bundle(SYNTHETIC_BUNDLE).unwrap();
    let got: Vec<usize> = view.received.iter().map(|r| r.entry).collect();
    assert_eq!(got, expected, "{}: entries received", view.name);
    for r in &view.received {
        assert_eq!(
            r.json,
            verbatim[r.entry].json.as_bytes(),
            "{}: entry {} is not byte-identical to the source",
            view.name,
            r.entry
        );
        let value: Value = serde_json::from_slice(&r.json).unwrap();
        assert_eq!(value, source[r.entry], "{}: entry {}", view.name, r.entry);
        assert_eq!((r.resource_type.clone(), r.id.clone()), key(&value));
        assert!(r.entry_bytes > r.json.len(), "entry carries the whole body");
        let recapsule = if via_srs { 626 } else { 0 };
        assert_eq!(r.recapsule_bytes, recapsule);
    }

    let refused: Vec<usize> = view.refused.iter().map(|r| r.entry).collect();
    let not_expected: Vec<usize> = (0..source.len())
        .filter(|i| !expected.contains(i))
        .collect();
    assert_eq!(refused, not_expected, "{}: entries refused", view.name);
    for r in &view.refused {
        assert_eq!(r.refusal, Refusal::NoReadRight);
    }

    // The rebuilt bundle holds exactly the granted resources, nothing else.
    assert_eq!(view.bundle["resourceType"], "Bundle");
    assert_eq!(view.bundle["type"], "collection");
    let in_bundle: Vec<&Value> = view.bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    let wanted: Vec<&Value> = expected.iter().map(|&i| &source[i]).collect();
    assert_eq!(in_bundle, wanted, "{}: rebuilt bundle", view.name);
    for e in view.bundle["entry"].as_array().unwrap() {
        let id = e["resource"]["id"].as_str().unwrap();
        assert_eq!(e["fullUrl"], format!("urn:uuid:{id}"));
    }
}

fn check_report(report: &Report, fallback: &'static str) {
    let source = source_resources();
    assert_eq!(
        report.sealed.len(),
        source.len(),
        "every resource is sealed"
    );
    for (sealed, resource) in report.sealed.iter().zip(&source) {
        let listed = listed_section(&sealed.resource.resource_type);
        let section = listed.unwrap_or(fallback);
        assert_eq!(
            key(resource),
            (
                sealed.resource.resource_type.clone(),
                sealed.resource.id.clone()
            )
        );
        assert_eq!(sealed.section, section, "{}", sealed.resource.resource_type);
        assert_eq!(sealed.by_fallback, listed.is_none());
    }

    assert_eq!(report.readers.len(), GRANTS.len());
    for (view, (name, granted)) in report.readers.iter().zip(GRANTS) {
        assert_eq!(view.name, name);
        assert_eq!(view.granted, granted);
        let expected: Vec<usize> = report
            .sealed
            .iter()
            .enumerate()
            .filter(|(_, s)| granted.contains(&s.section.as_str()))
            .map(|(i, _)| i)
            .collect();
        check_view(view, &expected, &source, true);
    }

    let everything: Vec<usize> = (0..source.len()).collect();
    check_view(&report.owner, &everything, &source, false);

    // Fingerprints are distinct and in the short form.
    let fps: BTreeSet<String> = report.fingerprints.iter().map(|(_, f)| f.short()).collect();
    assert_eq!(fps.len(), report.fingerprints.len());
    assert!(fps
        .iter()
        .all(|f| f.len() == 24 && f.matches('-').count() == 4));
}

fn received_types(view: &View) -> BTreeSet<&str> {
    view.received
        .iter()
        .map(|r| r.resource_type.as_str())
        .collect()
}

#[test]
fn standard_policy_gives_each_role_exactly_its_sections() {
    let report = run_with(&ResourcePolicy::standard(), 1);
    check_report(&report, "medical");

    // The counts, spelled out: 42 resources = 2 personal + 3 insurance + 31 medical (28 listed
    // + Encounter, Immunization, CarePlan by the fallback) + 6 prescription.
    let counts: Vec<(&str, usize, usize)> = report
        .readers
        .iter()
        .map(|v| (v.name, v.received.len(), v.refused.len()))
        .collect();
    assert_eq!(
        counts,
        [("doctor", 37, 5), ("pharmacist", 6, 36), ("insurer", 3, 39)]
    );
    assert_eq!(report.owner.received.len(), 42);

    let [doctor, pharmacist, insurer] = &report.readers[..] else {
        panic!("three readers")
    };
    assert!(!received_types(doctor).contains("Patient"));
    assert!(received_types(doctor).contains("Immunization"));
    assert_eq!(
        received_types(pharmacist),
        BTreeSet::from([
            "MedicationRequest",
            "MedicationStatement",
            "MedicationDispense"
        ])
    );
    assert_eq!(
        received_types(insurer),
        BTreeSet::from(["Coverage", "Claim", "ExplanationOfBenefit"])
    );
}

#[test]
fn unknown_types_go_to_the_owners_fallback_section_never_dropped() {
    let report = run_with(&ResourcePolicy::standard().with_fallback("other"), 2);
    check_report(&report, "other");

    let other: BTreeSet<&str> = report
        .sealed
        .iter()
        .filter(|s| s.section == "other")
        .map(|s| s.resource.resource_type.as_str())
        .collect();
    assert_eq!(
        other,
        BTreeSet::from(["CarePlan", "Encounter", "Immunization"])
    );
    // Nobody was granted "other": only the owner reads it.
    for view in &report.readers {
        assert!(received_types(view).is_disjoint(&other), "{}", view.name);
    }
    assert_eq!(report.readers[0].received.len(), 34);
    assert_eq!(report.owner.received.len(), 42);
}

#[test]
fn the_bundle_is_synthetic_and_complete_enough() {
    let bundle: Value = serde_json::from_str(SYNTHETIC_BUNDLE).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let synthetic = |meta: &Value| {
        meta["tag"].as_array().is_some_and(|t| {
            t.iter()
                .any(|c| c["display"] == "SYNTHETIC — not a real patient")
        }) && meta["security"]
            .as_array()
            .is_some_and(|t| t.iter().any(|c| c["code"] == "HTEST"))
    };
    assert!(synthetic(&bundle["meta"]));
    let resources = source_resources();
    assert!(resources.len() >= 30);
    for r in &resources {
        assert!(
            synthetic(&r["meta"]),
            "{:?} is not marked synthetic",
            key(r)
        );
    }
    let types: BTreeSet<&str> = resources
        .iter()
        .map(|r| r["resourceType"].as_str().unwrap())
        .collect();
    for t in [
        "Patient",
        "RelatedPerson",
        "Coverage",
        "Claim",
        "ExplanationOfBenefit",
        "Condition",
        "Observation",
        "Procedure",
        "DiagnosticReport",
        "AllergyIntolerance",
        "ImagingStudy",
        "MedicationRequest",
        "MedicationStatement",
        "MedicationDispense",
    ] {
        assert!(types.contains(t), "no {t}");
    }
    // At least one type outside the owner's policy.
    assert!(types.iter().any(|t| listed_section(t).is_none()));
    // Every urn:uuid reference resolves inside the full bundle.
    let ids: BTreeSet<String> = resources
        .iter()
        .map(|r| format!("urn:uuid:{}", r["id"].as_str().unwrap()))
        .collect();
    let mut refs = Vec::new();
    collect_references(&bundle, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        assert!(ids.contains(&r), "dangling reference {r}");
    }
}

fn collect_references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v.as_str()) {
                    ("reference", Some(r)) => out.push(r.to_owned()),
                    _ => collect_references(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

#[test]
fn a_non_bundle_is_refused() {
    assert!(split_bundle(r#"{"resourceType": "Patient", "id": "x"}"#).is_err());
    assert!(split_bundle(r#"{"resourceType": "Bundle", "entry": [{"fullUrl": "x"}]}"#).is_err());
    assert!(split_bundle("[]").is_err());
}
