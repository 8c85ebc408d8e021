//! Resuming: a reader moved to a checkpoint taken by another reader of the same bytes must
//! yield exactly what that reader yielded after it, broken XML included, or an interrupted
//! import would skip or repeat records.
#![no_main]

use acadex::formats::{self, Item, RecordError};
use libfuzzer_sys::fuzz_target;

fn outcome(item: Result<Item, RecordError>) -> String {
    match item {
        Ok(Item::Record(imported)) => format!("record {}", imported.record.id),
        Ok(Item::Delete { key }) => format!("delete {key}"),
        Err(error) => format!("error {error} [{} bytes]", error.verbatim.len()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut records) = formats::open(data, "fuzz.xml", None) else { return };
    let mut outcomes = Vec::new();
    let mut checkpoints = vec![records.checkpoint()];
    while let Some(item) = records.next() {
        outcomes.push(outcome(item));
        checkpoints.push(records.checkpoint());
    }
    // A few checkpoints, spread over the input, keep each run fast.
    let step = (checkpoints.len() / 4).max(1);
    for (done, checkpoint) in checkpoints.iter().enumerate().step_by(step) {
        let Ok(mut resumed) = formats::open(data, "fuzz.xml", None) else { panic!("opened once, not twice") };
        if resumed.resume_from(checkpoint).is_err() {
            assert!(outcomes[done..].is_empty(), "resuming failed with records left to read");
            continue;
        }
        let rest: Vec<String> = resumed.map(outcome).collect();
        assert_eq!(rest, outcomes[done..], "resumed after item {done}");
    }
});
