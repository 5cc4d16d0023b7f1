//! Tier 3: a program of the user's own, outside this repository. `amoeba-build new-program`
//! writes its project into a temporary directory; the project's profile names it by path, so
//! amoeba-build builds it with the program link settings and the node starts it at boot; the
//! process image the build leaves beside it runs on a pool node by `amoeba exec`. The bad
//! packages a user can write are refused before any kernel is built, each naming the key and
//! the fix.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use amoeba_build::image::{BuildOptions, build_profile, check_profile};
use amoeba_build::new_program::new_program;
use amoeba_build::qemu::Nic;
use amoeba_tests::images::{run_to_exit, workspace};
use amoeba_tests::lan::port_for;
use common::{amoeba, pool_node, run, text};

/// A fresh directory outside the repository, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("amoeba-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_new_program_outside_the_repository_boots_with_its_node_and_runs_on_a_pool() {
    let scratch = Scratch::new("own-program");
    let dir = scratch.0.join("greeter");
    let ws = workspace();
    new_program(&ws, "greeter", Some(&dir)).unwrap_or_else(|e| panic!("{e}"));
    let profile = dir.join("greeter.toml");
    let built = build_profile(&ws, &profile.to_string_lossy(), &BuildOptions::default())
        .unwrap_or_else(|e| panic!("{:#}", anyhow::Error::new(e)));
    let program = &built.manifest.programs[0];
    assert_eq!(program.name, "greeter");
    assert_eq!(program.source, "path = \".\"");

    let log = run_to_exit(&built, &[], false, Duration::from_secs(120));
    assert!(
        log.contains("greeter: hello, Amoeba (2 arguments: at boot)"),
        "{log}"
    );

    let image = dir.join("target/amoeba/greeter.process");
    let port = port_for(91);
    let node = pool_node("own-1", port, 1, Nic::Virtio);
    let mut exec = amoeba(port);
    exec.args(["exec", "own-1"])
        .arg(&image)
        .args(["--", "from", "afar"]);
    let output = run(exec, &node);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "greeter: hello, Amoeba (2 arguments: from afar)\n"
    );
}

/// A profile in `dir` whose one program is `[[programs]] path = "pkg"`; the problems its check
/// reports.
fn problems_of_package(dir: &Path, manifest: Option<&str>, files: &[(&str, &str)]) -> String {
    let pkg = dir.join("pkg");
    fs::create_dir_all(pkg.join("src")).unwrap_or_else(|e| panic!("{e}"));
    if let Some(manifest) = manifest {
        fs::write(pkg.join("Cargo.toml"), manifest).unwrap_or_else(|e| panic!("{e}"));
    }
    for (name, text) in files {
        fs::write(pkg.join(name), text).unwrap_or_else(|e| panic!("{e}"));
    }
    let profile = dir.join("bad.toml");
    let text =
        "description = \"d\"\n[kernel]\nservers = [\"proc\"]\n\n[[programs]]\npath = \"pkg\"\n";
    fs::write(&profile, text).unwrap_or_else(|e| panic!("{e}"));
    match check_profile(&workspace(), &profile.to_string_lossy()) {
        Ok(_) => panic!("{} passed its check", pkg.display()),
        Err(error) => error.to_string(),
    }
}

fn package(bins: &str, runtime: bool) -> String {
    let root = workspace().root().display().to_string();
    let dependency = if runtime {
        format!("amoeba-user = {{ path = \"{root}/amoeba-user\" }}\n")
    } else {
        String::new()
    };
    format!(
        "[package]\nname = \"pkg\"\nversion = \"0.1.0\"\nedition = \"2024\"\n{bins}\n\
         [dependencies]\n{dependency}\n[workspace]\n"
    )
}

#[test]
fn bad_packages_and_images_are_refused_with_the_key_and_the_fix() {
    let scratch = Scratch::new("bad-programs");
    let base = &scratch.0;
    let case = |name: &str| {
        let dir = base.join(name);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        dir
    };

    let message = problems_of_package(&case("none"), None, &[]);
    assert!(
        message.contains("bad.toml:6: [[programs]] path: ")
            && message.contains("is not a Cargo package")
            && message.contains("amoeba-build new-program"),
        "{message}"
    );

    let lib_only = package("[lib]\npath = \"src/lib.rs\"\n", true);
    let message = problems_of_package(&case("lib"), Some(&lib_only), &[("src/lib.rs", "")]);
    assert!(message.contains("package `pkg` has no binary"), "{message}");

    let two = package(
        "[[bin]]\nname = \"a\"\npath = \"src/a.rs\"\n[[bin]]\nname = \"b\"\npath = \"src/b.rs\"\n",
        true,
    );
    let files = [("src/a.rs", "fn main() {}"), ("src/b.rs", "fn main() {}")];
    let message = problems_of_package(&case("two"), Some(&two), &files);
    assert!(
        message.contains("package `pkg` has 2 binaries (a, b)") && message.contains("keep one"),
        "{message}"
    );

    let plain = package("", false);
    let files = [("src/main.rs", "fn main() {}")];
    let message = problems_of_package(&case("plain"), Some(&plain), &files);
    assert!(
        message.contains("does not depend on amoeba-user") && message.contains("[dependencies]"),
        "{message}"
    );

    let dir = case("image");
    fs::write(dir.join("junk.process"), b"not gzip").unwrap_or_else(|e| panic!("{e}"));
    let profile = dir.join("img.toml");
    let text = "description = \"d\"\n[[programs]]\nimage = \"junk.process\"\n[[programs]]\nimage = \"gone.process\"\n[[programs]]\nname = \"hello\"\npath = \"x\"\n";
    fs::write(&profile, text).unwrap_or_else(|e| panic!("{e}"));
    let message = match check_profile(&workspace(), &profile.to_string_lossy()) {
        Ok(_) => panic!("bad images passed"),
        Err(error) => error.to_string(),
    };
    assert!(
        message.contains("img.toml:3: [[programs]] image: ")
            && message.contains("is not a process image a node can run"),
        "{message}"
    );
    assert!(
        message.contains("img.toml:5: [[programs]] image: ") && message.contains("does not exist"),
        "{message}"
    );
    assert!(
        message.contains("img.toml:6: [[programs]]: says name and path; give exactly one"),
        "{message}"
    );
}
