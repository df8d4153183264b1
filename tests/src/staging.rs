//! The AWS world staged on this machine (issue 25), as far as it goes: what `template.yaml` gives each function once
//! its intrinsic functions are resolved against staged resources (`tests/support/stage.py`, on cfn-lint's own parser
//! from the SAM CLI's tools venv).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

/// One function as the template declares it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionSpec {
    pub binary: String,
    pub memory_size: u32,
    pub timeout: u32,
    pub environment: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Staged {
    functions: BTreeMap<String, FunctionSpec>,
}

/// Every function of the template by logical id, resolved against `values` (see `stage.py` for their shape).
pub fn template_functions(values: &serde_json::Value) -> BTreeMap<String, FunctionSpec> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace");
    let python = match std::env::var("FRAMELIFT_SAM_PYTHON") {
        Ok(p) => p,
        Err(_) => {
            let out = Command::new("bash").arg(repo.join("scripts/python-tools.sh")).arg("sam").stderr(Stdio::inherit()).output();
            let out = out.expect("bash runs");
            assert!(out.status.success(), "scripts/python-tools.sh sam failed");
            String::from_utf8(out.stdout).expect("a path").trim().to_owned()
        }
    };
    let mut child = Command::new(python)
        .arg(repo.join("tests/support/stage.py"))
        .arg(repo.join("template.yaml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tools venv's python runs");
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), values.to_string().as_bytes()).expect("stage.py reads");
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("stage.py ends");
    assert!(out.status.success(), "stage.py failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Staged>(&out.stdout).expect("stage.py's answer").functions
}
