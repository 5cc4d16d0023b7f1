use super::*;
use crate::catalog::{Component, Status};
use libamoeba::priority::Level;

const FILE: &str = "node-profiles/x.toml";

fn profile(text: &str) -> Profile {
    Profile::parse("x", FILE, text.as_bytes().to_vec()).expect("the test profile parses")
}

fn check(text: &str) -> Result<NodeSpec, ProfileProblems> {
    validate(&profile(text), &Catalog::builtin())
}

/// The rendered problems, one per line.
fn problems_with(catalog: &Catalog<'_>, text: &str) -> Vec<String> {
    match validate(&profile(text), catalog) {
        Ok(spec) => panic!("should not validate: {spec:?}"),
        Err(problems) => problems.0.iter().map(ToString::to_string).collect(),
    }
}

fn problems(text: &str) -> Vec<String> {
    problems_with(&Catalog::builtin(), text)
}

/// Implemented components with the relations the builtin table does not have yet.
static TEST_COMPONENTS: &[Component] = &[
    Component {
        name: "a",
        kind: Kind::Driver,
        description: "",
        requires: &[],
        conflicts: &[],
        status: Status::Implemented,
    },
    Component {
        name: "b",
        kind: Kind::Driver,
        description: "",
        requires: &["a"],
        conflicts: &[],
        status: Status::Implemented,
    },
    Component {
        name: "x",
        kind: Kind::Driver,
        description: "",
        requires: &[],
        conflicts: &["y"],
        status: Status::Implemented,
    },
    Component {
        name: "y",
        kind: Kind::Driver,
        description: "",
        requires: &[],
        conflicts: &[],
        status: Status::Implemented,
    },
    Component {
        name: "s",
        kind: Kind::Server,
        description: "",
        requires: &["a"],
        conflicts: &["y"],
        status: Status::Implemented,
    },
    Component {
        name: "p",
        kind: Kind::Server,
        description: "",
        requires: &[],
        conflicts: &[],
        status: Status::Planned,
    },
];

const TEST_CATALOG: Catalog<'static> = Catalog::new(TEST_COMPONENTS);

/// This repository's workspace and the programs it has, for tests of the real profiles.
fn this_workspace() -> (crate::workspace::Workspace, Vec<String>) {
    let ws = crate::workspace::Workspace::at(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.."
    )))
    .expect("workspace");
    let programs = crate::programs::available(&ws);
    (ws, programs)
}

fn test_programs() -> Vec<String> {
    ["hello", "threads", "counter"].map(String::from).to_vec()
}

#[test]
fn a_minimal_profile_gets_the_defaults() {
    let spec = check("description = \"nothing\"\n").expect("valid");
    assert_eq!(spec.node, "x");
    assert_eq!(spec.log, LogLevel::Info);
    assert_eq!(spec.memory_mib, DEFAULT_MEMORY_MIB);
    assert!(spec.servers.is_empty() && spec.drivers.is_empty());
    assert_eq!(spec.cmdline(), "node=x log=info");
}

#[test]
fn a_full_profile_is_taken_as_written() {
    let text = "description = \"p\"\n[node]\nname = \"pool-1\"\nlog = \"debug\"\ncmdline = \"ready=exit\"\nmemory_mib = 64\n[kernel]\ndrivers = [\"rtc\", \"pci\"]\n";
    let spec = check(text).expect("valid");
    assert_eq!(spec.node, "pool-1");
    assert_eq!(spec.drivers, ["rtc", "pci"]);
    assert_eq!(spec.memory_mib, 64);
    assert_eq!(spec.cmdline(), "node=pool-1 log=debug ready=exit");
}

#[test]
fn unknown_component_lists_the_valid_ones_of_its_kind() {
    let text = "description = \"d\"\n[kernel]\ndrivers = [\"pci\", \"virtio\"]\n";
    assert_eq!(
        problems(text),
        [
            "node-profiles/x.toml:3: [kernel] drivers: unknown driver \"virtio\"; valid drivers: pci, rtc, virtio-net, ne2000, virtio-blk"
        ]
    );
}

#[test]
fn a_component_of_the_other_kind_is_moved() {
    let text = "description = \"d\"\n[kernel]\ndrivers = [\"dir\"]\n";
    assert_eq!(
        problems(text),
        [
            "node-profiles/x.toml:3: [kernel] drivers: `dir` is a server, not a driver; move it to [kernel] servers"
        ]
    );
}

#[test]
fn planned_components_are_refused() {
    let text = "description = \"d\"\n[kernel]\nservers = [\"s\", \"p\"]\ndrivers = [\"a\"]\n";
    assert_eq!(
        problems_with(&TEST_CATALOG, text),
        [
            "node-profiles/x.toml:3: [kernel] servers: server `p` is not implemented yet; remove it from [kernel] servers"
        ]
    );
}

#[test]
fn duplicates_point_at_the_first_entry() {
    let text = "description = \"d\"\n[kernel]\ndrivers = [\n  \"pci\",\n  \"pci\",\n]\n";
    assert_eq!(
        problems(text),
        [
            "node-profiles/x.toml:5: [kernel] drivers: driver `pci` is listed twice (first on line 4); remove one"
        ]
    );
}

#[test]
fn missing_dependencies_say_what_to_add() {
    let text = "description = \"d\"\n[kernel]\nservers = [\"s\"]\ndrivers = [\"b\"]\n";
    assert_eq!(
        problems_with(&TEST_CATALOG, text),
        [
            "node-profiles/x.toml:3: [kernel] servers: server `s` requires driver `a`; add \"a\" to [kernel] drivers",
            "node-profiles/x.toml:4: [kernel] drivers: driver `b` requires driver `a`; add \"a\" to [kernel] drivers",
        ]
    );
    let satisfied = "description = \"d\"\n[kernel]\nservers = [\"s\"]\ndrivers = [\"b\", \"a\"]\n";
    assert!(validate(&profile(satisfied), &TEST_CATALOG).is_ok());
}

#[test]
fn conflicts_are_reported_once_at_the_later_line() {
    let text =
        "description = \"d\"\n[kernel]\nservers = [\"s\"]\ndrivers = [\"a\", \"x\",\n  \"y\"]\n";
    assert_eq!(
        problems_with(&TEST_CATALOG, text),
        [
            "node-profiles/x.toml:5: [kernel] drivers: driver `y` conflicts with server `s` (line 3); remove one of them",
            "node-profiles/x.toml:5: [kernel] drivers: driver `y` conflicts with driver `x` (line 4); remove one of them",
        ]
    );
}

#[test]
fn bad_node_name() {
    let text = "description = \"d\"\n[node]\nname = \"pool 1\"\n";
    assert_eq!(
        problems(text),
        [
            "node-profiles/x.toml:3: [node] name: bad node name \"pool 1\"; use 1 to 32 letters, digits, `-` or `_`"
        ]
    );
}

#[test]
fn bad_profile_name() {
    let bad = Profile::parse("my pool", "my pool.toml", b"description = \"d\"\n".to_vec())
        .expect("parses");
    let message = validate(&bad, &Catalog::builtin())
        .expect_err("invalid")
        .to_string();
    assert!(
        message.starts_with("my pool.toml: profile name \"my pool\" (the file name) must be"),
        "{message}"
    );
}

#[test]
fn bad_log_level() {
    let text = "description = \"d\"\n[node]\nlog = \"loud\"\n";
    assert_eq!(
        problems(text),
        [
            "node-profiles/x.toml:3: [node] log: unknown log level \"loud\"; use one of error, warn, info, debug, trace"
        ]
    );
}

#[test]
fn bad_cmdline_words_are_each_reported() {
    let text = "description = \"d\"\n[node]\ncmdline = \"quiet ready=now ready=exit\"\n";
    assert_eq!(
        problems(text),
        [
            "node-profiles/x.toml:3: [node] cmdline: bad kernel command-line word \"quiet\": unknown key in `quiet`; remove or correct it",
            "node-profiles/x.toml:3: [node] cmdline: bad kernel command-line word \"ready=now\": bad value `now` for `ready`; expected idle, exit; remove or correct it",
        ]
    );
}

#[test]
fn node_and_log_belong_in_their_own_keys() {
    let text = "description = \"d\"\n[node]\ncmdline = \"node=other\"\n";
    assert_eq!(
        problems(text),
        [
            "node-profiles/x.toml:3: [node] cmdline: `node=` is set by amoeba-build from [node] name; set it there instead"
        ]
    );
}

#[test]
fn too_little_memory() {
    let text = "description = \"d\"\n[node]\nmemory_mib = 16\n";
    assert_eq!(
        problems(text),
        ["node-profiles/x.toml:3: [node] memory_mib: 16 MiB is too little memory; use at least 32"]
    );
}

#[test]
fn empty_description() {
    assert_eq!(
        problems("description = \" \"\n"),
        ["node-profiles/x.toml:1: description: must be one non-empty line of text"]
    );
}

#[test]
fn all_problems_are_reported_in_file_order() {
    let text = "description = \"d\"\n[kernel]\nservers = [\"nope\"]\ndrivers = [\"virtio-net\"]\n[node]\nlog = \"loud\"\n";
    let lines: Vec<String> = problems(text)
        .iter()
        .map(|p| p.split(": ").next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        lines,
        [
            "node-profiles/x.toml:3",
            "node-profiles/x.toml:4",
            "node-profiles/x.toml:6"
        ]
    );
}

#[test]
fn programs_are_taken_in_order_with_defaults() {
    let programs = test_programs();
    let catalog = Catalog::builtin().with_programs(&programs);
    let text = "description = \"d\"\n[[programs]]\nname = \"hello\"\nargs = [\"a\", \"b\"]\n[[programs]]\nname = \"counter\"\npriority = \"low\"\n[[programs]]\nname = \"hello\"\npriority = \"high\"\n";
    let spec = validate(&profile(text), &catalog).expect("valid");
    assert_eq!(
        spec.programs,
        [
            ProgramSpec {
                driver: false,
                admin: false,
                name: "hello".into(),
                source: ProgramSource::Builtin,
                origin: "programs/hello".into(),
                line: 2,
                args: vec!["a".into(), "b".into()],
                priority: Level::Norm,
            },
            ProgramSpec {
                driver: false,
                admin: false,
                name: "counter".into(),
                source: ProgramSource::Builtin,
                origin: "programs/counter".into(),
                line: 5,
                args: vec![],
                priority: Level::Low,
            },
            ProgramSpec {
                driver: false,
                admin: false,
                name: "hello".into(),
                source: ProgramSource::Builtin,
                origin: "programs/hello".into(),
                line: 8,
                args: vec![],
                priority: Level::High,
            },
        ]
    );
    assert!(
        check("description = \"d\"\n")
            .expect("valid")
            .programs
            .is_empty()
    );
}

#[test]
fn driver_and_admin_flags_are_carried_into_the_spec() {
    let programs = test_programs();
    let catalog = Catalog::builtin().with_programs(&programs);
    let text = "description = \"d\"\n[[programs]]\nname = \"hello\"\nadmin = true\n[[programs]]\nname = \"threads\"\ndriver = true\nadmin = false\n";
    let spec = validate(&profile(text), &catalog).expect("valid");
    let flags: Vec<_> = spec.programs.iter().map(|p| (p.driver, p.admin)).collect();
    assert_eq!(flags, [(false, true), (true, false)]);
}

#[test]
fn unknown_programs_list_the_available_ones() {
    let programs = test_programs();
    let catalog = Catalog::builtin().with_programs(&programs);
    let text = "description = \"d\"\n[[programs]]\nname = \"helo\"\n";
    assert_eq!(
        problems_with(&catalog, text),
        [
            "node-profiles/x.toml:3: [[programs]] name: unknown program \"helo\"; available programs: hello, threads, counter (the [[bin]]s of programs/Cargo.toml)"
        ]
    );
    // Without a programs/ crate nothing is available.
    assert_eq!(
        problems("description = \"d\"\n[[programs]]\nname = \"hello\"\n"),
        [
            "node-profiles/x.toml:3: [[programs]] name: unknown program \"hello\"; available programs: none (the [[bin]]s of programs/Cargo.toml)"
        ]
    );
}

#[test]
fn bad_program_priority_and_arguments() {
    let programs = test_programs();
    let catalog = Catalog::builtin().with_programs(&programs);
    let many: Vec<String> = (0..33).map(|i| format!("\"{i}\"")).collect();
    let long = "x".repeat(70_000);
    let text = format!(
        "description = \"d\"\n[[programs]]\nname = \"hello\"\npriority = \"urgent\"\n[[programs]]\nname = \"threads\"\nargs = [{}]\n[[programs]]\nname = \"counter\"\nargs = [\"ok\", \"{long}\"]\n",
        many.join(", ")
    );
    assert_eq!(
        problems_with(&catalog, &text),
        [
            "node-profiles/x.toml:4: [[programs]] priority: unknown priority \"urgent\"; use one of high, norm, low",
            "node-profiles/x.toml:7: [[programs]] args: 33 arguments; a program takes at most 32, remove some",
            "node-profiles/x.toml:10: [[programs]] args: the arguments take 70010 bytes; at most 15360 fit in a process's environment (shorten them)",
            "node-profiles/x.toml:10: [[programs]] args: argument 1 is 70000 bytes long; shorten it to at most 65535",
        ]
    );
}

#[test]
fn the_shipped_and_test_profiles_name_real_programs() {
    let (ws, programs) = this_workspace();
    let catalog = Catalog::builtin().with_programs(&programs);
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for dir in [ws.profiles_dir(), ws.root().join("tests/profiles")] {
        for entry in std::fs::read_dir(&dir).expect("profile directory") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    assert!(files.iter().any(|f| f.ends_with("demo.toml")), "{files:?}");
    for file in files {
        let name = file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let source = std::fs::read(&file).expect("readable");
        let profile = Profile::parse(&name, &ws.display(&file), source).expect("parses");
        if let Err(problems) = validate(&profile, &catalog) {
            panic!("{problems}");
        }
    }
    let demo = Profile::parse(
        "demo",
        "demo.toml",
        std::fs::read(ws.profiles_dir().join("demo.toml")).expect("demo"),
    )
    .expect("parses");
    let spec = validate(&demo, &catalog).expect("valid");
    let names: Vec<&str> = spec.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["hello", "threads", "ps", "kstat"]);
}

#[test]
fn control_characters_and_absurd_memory_are_refused() {
    let catalog = Catalog::builtin();
    let text = "description = \"one\\rtwo\"\n[node]\nmemory_mib = 4294967295\n";
    let problems = problems_with(&catalog, text);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("node-profiles/x.toml:1: description: "),
        "{problems:?}"
    );
    assert_eq!(
        problems[1],
        "node-profiles/x.toml:3: [node] memory_mib: memory_mib = 4294967295 is more than a node is given here; use at most 65536"
    );
}

#[test]
fn network_keys_become_kernel_words() {
    let text = "description = \"d\"\n[node]\ncmdline = \"ready=exit\"\n[kernel]\ndrivers = [\"pci\", \"virtio-net\"]\n[network]\nip = \"dhcp\"\nflip_udp_port = 4146\n";
    let spec = check(text).expect("valid");
    assert_eq!(
        spec.cmdline(),
        "node=x log=info ready=exit ip=dhcp flip-udp=4146"
    );
    let text = "description = \"d\"\n[kernel]\ndrivers = [\"pci\", \"ne2000\"]\n[network]\nip = \"10.0.9.2/24\"\n";
    let spec = check(text).expect("valid");
    assert_eq!(spec.cmdline(), "node=x log=info ip=10.0.9.2/24");
    for port in [1, 65535] {
        let text = format!(
            "description = \"d\"\n[kernel]\ndrivers = [\"pci\", \"ne2000\"]\n[network]\nflip_udp_port = {port}\n"
        );
        let spec = check(&text).expect("valid");
        assert_eq!(spec.cmdline(), format!("node=x log=info flip-udp={port}"));
    }
}

#[test]
fn bad_network_values_name_key_and_fix() {
    let card = "[kernel]\ndrivers = [\"pci\", \"virtio-net\"]\n";
    for (ip, port) in [("auto", "0"), ("10.0.2.15", "65536"), ("DHCP", "-1")] {
        let text = format!(
            "description = \"d\"\n{card}[network]\nip = \"{ip}\"\nflip_udp_port = {port}\n"
        );
        assert_eq!(
            problems(&text),
            [
                format!(
                    "node-profiles/x.toml:5: [network] ip: bad address \"{ip}\"; write \"dhcp\" \
                     or an IPv4 address with its prefix length, e.g. `ip = \"10.0.2.15/24\"`"
                ),
                format!(
                    "node-profiles/x.toml:6: [network] flip_udp_port: {port} is not a UDP port; \
                     write a whole number from 1 to 65535, e.g. `flip_udp_port = 4146`"
                ),
            ]
        );
    }
}

#[test]
fn network_needs_a_card() {
    let text = "description = \"d\"\n[kernel]\ndrivers = [\"pci\"]\n[network]\nflip_udp_port = 4146\nip = \"dhcp\"\n";
    assert_eq!(
        problems(text),
        [
            "node-profiles/x.toml:5: [network]: a node without a network card has no IP side; \
             add \"virtio-net\" or \"ne2000\" to [kernel] drivers, or remove [network]"
        ]
    );
}

#[test]
fn network_words_are_set_in_one_place() {
    let text = "description = \"d\"\n[node]\ncmdline = \"ip=10.0.9.2/24 flip-udp=1\"\n[kernel]\ndrivers = [\"pci\", \"virtio-net\"]\n[network]\nip = \"dhcp\"\nflip_udp_port = 4146\n";
    assert_eq!(
        problems(text),
        [
            "node-profiles/x.toml:3: [node] cmdline: `ip=` is also set by [network] ip (line 7); \
             keep only one of the two",
            "node-profiles/x.toml:3: [node] cmdline: `flip-udp=` is also set by [network] \
             flip_udp_port (line 8); keep only one of the two",
        ]
    );
    // Without [network], the words are fine where they are.
    let text = "description = \"d\"\n[node]\ncmdline = \"ip=dhcp flip-udp=4146\"\n[kernel]\ndrivers = [\"pci\", \"virtio-net\"]\n";
    let spec = check(text).expect("valid");
    assert_eq!(spec.cmdline(), "node=x log=info ip=dhcp flip-udp=4146");
}

#[test]
fn bad_flip_udp_words_in_the_cmdline_are_refused() {
    let text = "description = \"d\"\n[node]\ncmdline = \"flip-udp=0 ip=auto\"\n";
    assert_eq!(
        problems(text),
        [
            "node-profiles/x.toml:3: [node] cmdline: bad kernel command-line word \"flip-udp=0\": \
             bad value `0` for `flip-udp`; expected a UDP port from 1 to 65535, e.g. 4146; remove \
             or correct it",
            "node-profiles/x.toml:3: [node] cmdline: bad kernel command-line word \"ip=auto\": \
             bad value `auto` for `ip`; expected `dhcp` or an IPv4 address with a prefix length, \
             e.g. 10.0.2.15/24; remove or correct it",
        ]
    );
}

#[test]
fn selftest_words_need_the_self_tests_compiled_in() {
    let text = "description = \"d\"\n[node]\ncmdline = \"ready=exit selftest=sched\"\n";
    assert_eq!(
        problems(text),
        [
            "node-profiles/x.toml:3: [node] cmdline: `selftest=sched` runs a kernel self-test, but \
             this profile compiles none in; add `selftest = true` under [kernel] (test profiles \
             only), or remove the word"
        ]
    );
    let off =
        "description = \"d\"\n[node]\ncmdline = \"selftest=rpc\"\n[kernel]\nselftest = false\n";
    assert_eq!(
        problems(off),
        [
            "node-profiles/x.toml:3: [node] cmdline: `selftest=rpc` runs a kernel self-test, but \
             this profile compiles none in; set `selftest = true` on line 5 (test profiles only), \
             or remove the word"
        ]
    );
    let on =
        "description = \"d\"\n[node]\ncmdline = \"selftest=sched\"\n[kernel]\nselftest = true\n";
    let spec = check(on).expect("valid");
    assert!(spec.selftest);
    assert_eq!(spec.cmdline(), "node=x log=info selftest=sched");
}

#[test]
fn self_tests_are_left_out_unless_asked_for() {
    assert!(!check("description = \"d\"\n").expect("valid").selftest);
    let off = "description = \"d\"\n[kernel]\nselftest = false\n";
    assert!(!check(off).expect("valid").selftest);
    let on = "description = \"d\"\n[kernel]\nselftest = true\n";
    assert!(check(on).expect("valid").selftest);
}

#[test]
fn appended_selftest_words_need_the_self_tests_compiled_in() {
    let words = |text: &str| text.split(' ').map(String::from).collect::<Vec<_>>();
    let shipped = check("description = \"d\"\n").expect("valid");
    assert_eq!(
        validate_append(FILE, &shipped, &words("ready=exit selftest=lan:2"))
            .map_err(|e| e.to_string()),
        Err(
            "--append `selftest=lan:2`: node-profiles/x.toml compiles no kernel self-tests in; \
             boot a test profile (one with `selftest = true` under [kernel]), or leave the word out"
                .to_string()
        )
    );
    // A malformed `selftest=` word asks for a self-test all the same.
    assert!(validate_append(FILE, &shipped, &words("selftest=bogus")).is_err());
    assert_eq!(
        validate_append(FILE, &shipped, &words("ready=exit log=debug colour=red")),
        Ok(())
    );
    let test = check("description = \"d\"\n[kernel]\nselftest = true\n").expect("valid");
    assert_eq!(
        validate_append(FILE, &test, &words("selftest=sched")),
        Ok(())
    );
}

#[test]
fn remote_exec_needs_the_process_server() {
    let off = "description = \"d\"\n[kernel]\nservers = [\"dir\"]\nremote_exec = false\n";
    assert_eq!(
        problems(off),
        [
            "node-profiles/x.toml:4: [kernel] remote_exec: says who may start processes through \
             the process server, which this profile leaves out; add \"proc\" to servers, or \
             remove remote_exec"
        ]
    );
    // Saying the default is as wrong: the key means nothing without the server.
    let on = "description = \"d\"\n[kernel]\nremote_exec = true\n";
    assert_eq!(
        problems(on),
        [
            "node-profiles/x.toml:3: [kernel] remote_exec: says who may start processes through \
             the process server, which this profile leaves out; add \"proc\" to servers, or \
             remove remote_exec"
        ]
    );
}

#[test]
fn remote_exec_is_allowed_unless_withheld() {
    assert!(check("description = \"d\"\n").expect("valid").remote_exec);
    let proc = "description = \"d\"\n[kernel]\nservers = [\"dir\", \"proc\"]\n";
    assert!(check(proc).expect("valid").remote_exec);
    let on = "description = \"d\"\n[kernel]\nservers = [\"dir\", \"proc\"]\nremote_exec = true\n";
    assert!(check(on).expect("valid").remote_exec);
    let off = "description = \"d\"\n[kernel]\nservers = [\"dir\", \"proc\"]\nremote_exec = false\n";
    assert!(!check(off).expect("valid").remote_exec);
}

#[test]
fn rebalance_needs_the_run_server() {
    let message = "says whether the run server moves processes between its pool processors, \
                   but this profile has no run server; add \"run\" to [kernel] servers, or \
                   remove rebalance";
    let on =
        "description = \"d\"\n[kernel]\nservers = [\"dir\", \"proc\"]\n[run]\nrebalance = true\n";
    assert_eq!(
        problems(on),
        [format!(
            "node-profiles/x.toml:5: [run] rebalance: {message}"
        )]
    );
    // Saying the default is as wrong: the key means nothing without the server.
    let off = "description = \"d\"\n[run]\nrebalance = false\n";
    assert_eq!(
        problems(off),
        [format!(
            "node-profiles/x.toml:3: [run] rebalance: {message}"
        )]
    );
    assert!(check("description = \"d\"\n[run]\n").is_ok());
}

#[test]
fn the_run_server_needs_a_network_card() {
    let text = "description = \"d\"\n[kernel]\nservers = [\n  \"dir\",\n  \"run\",\n]\ndrivers = [\"pci\", \"rtc\"]\n";
    assert_eq!(
        problems(text),
        [
            "node-profiles/x.toml:5: [kernel] servers: server `run` finds its pool processors \
             and polls their load over the LAN, but this node has no network card; add \
             \"virtio-net\" or \"ne2000\" to [kernel] drivers"
        ]
    );
    for card in ["virtio-net", "ne2000"] {
        let text = format!(
            "description = \"d\"\n[kernel]\nservers = [\"dir\", \"run\"]\ndrivers = [\"pci\", \"{card}\"]\n"
        );
        assert!(check(&text).is_ok(), "{card}");
    }
}

#[test]
fn the_run_server_balances_only_when_asked() {
    let servers = "description = \"d\"\n[kernel]\nservers = [\"dir\", \"run\"]\ndrivers = [\"pci\", \"virtio-net\"]\n";
    assert!(!check(servers).expect("valid").rebalance);
    let off = format!("{servers}[run]\nrebalance = false\n");
    assert!(!check(&off).expect("valid").rebalance);
    let on = format!("{servers}[run]\nrebalance = true\n");
    assert!(check(&on).expect("valid").rebalance);
}

#[test]
fn the_run_profile_places_and_balances_without_being_a_pool_processor() {
    let (ws, programs) = this_workspace();
    let catalog = Catalog::builtin().with_programs(&programs);
    let file = ws.profiles_dir().join("run.toml");
    let source = std::fs::read(&file).expect("run.toml");
    let profile = Profile::parse("run", &ws.display(&file), source).expect("parses");
    let spec = validate(&profile, &catalog).expect("valid");
    assert!(spec.servers.iter().any(|s| s == "run"), "{spec:?}");
    assert!(spec.rebalance, "{spec:?}");
    assert!(!spec.remote_exec, "{spec:?}");
}

#[test]
fn shipped_profiles_carry_no_self_tests() {
    let (ws, programs) = this_workspace();
    let catalog = Catalog::builtin().with_programs(&programs);
    for name in crate::profile::profile_names(&ws.profiles_dir()) {
        let file = ws.profiles_dir().join(format!("{name}.toml"));
        let source = std::fs::read(&file).expect("readable");
        let profile = Profile::parse(&name, &ws.display(&file), source).expect("parses");
        let spec = validate(&profile, &catalog).expect("valid");
        assert!(!spec.selftest, "{name} ships test code");
    }
}

#[test]
fn a_disk_node_gets_a_disk_of_the_default_size_unless_told() {
    let blk = "description = \"d\"\n[kernel]\ndrivers = [\"pci\", \"virtio-blk\"]\n";
    assert_eq!(check(blk).expect("valid").disk_mib, Some(DEFAULT_DISK_MIB));
    assert_eq!(DEFAULT_DISK_MIB, 64);
    let empty = format!("{blk}[disk]\n");
    assert_eq!(check(&empty).expect("valid").disk_mib, Some(64));
    for mib in [1, 16, 65536] {
        let sized = format!("{blk}[disk]\nsize_mib = {mib}\n");
        assert_eq!(check(&sized).expect("valid").disk_mib, Some(mib), "{mib}");
    }
    let none = "description = \"d\"\n[kernel]\ndrivers = [\"pci\", \"virtio-net\"]\n";
    assert_eq!(check(none).expect("valid").disk_mib, None);
    assert_eq!(
        check("description = \"d\"\n[disk]\n")
            .expect("valid")
            .disk_mib,
        None
    );
}

#[test]
fn a_disk_size_needs_the_disk_driver() {
    let text = "description = \"d\"\n[kernel]\ndrivers = [\"pci\"]\n[disk]\nsize_mib = 16\n";
    assert_eq!(
        problems(text),
        [
            "node-profiles/x.toml:5: [disk] size_mib: sizes the node's virtio disk, but this \
             profile has no disk driver; add \"virtio-blk\" to [kernel] drivers, or remove [disk]"
        ]
    );
}

#[test]
fn a_disk_size_out_of_range_is_refused() {
    let blk = "description = \"d\"\n[kernel]\ndrivers = [\"pci\", \"virtio-blk\"]\n[disk]\n";
    for mib in ["0", "-1", "65537", "4294967296"] {
        assert_eq!(
            problems(&format!("{blk}size_mib = {mib}\n")),
            [format!(
                "node-profiles/x.toml:5: [disk] size_mib: {mib} MiB is not a disk size here; \
                 write a whole number from 1 to 65536, e.g. `size_mib = 64`"
            )],
            "{mib}"
        );
    }
    // Both at once: the size is wrong and there is no driver to see it.
    let text = "description = \"d\"\n[disk]\nsize_mib = 0\n";
    assert_eq!(problems(text).len(), 2, "{:?}", problems(text));
}

#[test]
fn the_disk_test_profile_has_a_small_disk_and_its_server() {
    let (ws, programs) = this_workspace();
    let catalog = Catalog::builtin().with_programs(&programs);
    let file = ws.root().join("tests/profiles/test-disk.toml");
    let source = std::fs::read(&file).expect("test-disk.toml");
    let profile = Profile::parse("test-disk", &ws.display(&file), source).expect("parses");
    let spec = validate(&profile, &catalog).expect("valid");
    assert_eq!(spec.disk_mib, Some(16), "{spec:?}");
    assert!(spec.servers.iter().any(|s| s == "vdisk"), "{spec:?}");
    assert!(spec.drivers.iter().any(|d| d == "virtio-blk"), "{spec:?}");
}

/// Outside programs as a fake sees them: a package in every directory named `pkg*` (its
/// binary named after the directory), an image in every file ending `.process`.
#[derive(Debug)]
struct FakeSources;

impl crate::program_sources::ProgramSources for FakeSources {
    fn package(
        &self,
        dir: &std::path::Path,
    ) -> Result<crate::node_spec::PackageProgram, crate::program_sources::SourceProblem> {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        match name {
            Some(name) if name.starts_with("pkg") => Ok(crate::node_spec::PackageProgram {
                dir: dir.to_path_buf(),
                package: name.clone(),
                bin: name,
                runtime_dir: "/amoeba/amoeba-user".into(),
            }),
            _ => Err(crate::program_sources::SourceProblem::NotAPackage {
                shown: dir.display().to_string(),
            }),
        }
    }

    fn image(&self, file: &std::path::Path) -> Result<(), crate::program_sources::SourceProblem> {
        match file.extension().is_some_and(|e| e == "process") {
            true => Ok(()),
            false => Err(crate::program_sources::SourceProblem::MissingImage {
                shown: file.display().to_string(),
            }),
        }
    }
}

#[test]
fn outside_programs_are_found_relative_to_the_profile_and_named_by_their_binary() {
    let programs = test_programs();
    let catalog = Catalog::builtin()
        .with_programs(&programs)
        .with_sources(&FakeSources);
    let mut profile = profile(
        "description = \"d\"\n[[programs]]\npath = \"../pkg-a\"\n[[programs]]\nimage = \"img/b.process\"\n",
    );
    profile.dir = "/home/u/node".into();
    let spec = validate(&profile, &catalog).expect("valid");
    let [package, image] = spec.programs.as_slice() else {
        panic!("two programs: {:?}", spec.programs);
    };
    assert_eq!(package.name, "pkg-a");
    assert_eq!(package.origin, "path = \"../pkg-a\"");
    assert!(
        matches!(&package.source, ProgramSource::Package(p) if p.dir == std::path::Path::new("/home/u/node/../pkg-a"))
    );
    assert_eq!(image.name, "b");
    assert_eq!(
        image.source,
        ProgramSource::Image("/home/u/node/img/b.process".into())
    );

    let problems = problems_with(
        &catalog,
        "description = \"d\"\n[[programs]]\npath = \"other\"\n[[programs]]\nargs = []\n[[programs]]\nimage = \"x.txt\"\nname = \"hello\"\n",
    );
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].starts_with("node-profiles/x.toml:3: [[programs]] path: ")
            && problems[0].ends_with("other is not a Cargo package (no Cargo.toml there); point `path` at the directory of your program's Cargo.toml (`amoeba-build new-program NAME` makes one)"),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with(
            "node-profiles/x.toml:4: [[programs]]: says none of them; give exactly one"
        )
    );
    assert!(
        problems[2].starts_with("node-profiles/x.toml:6: [[programs]]: says name and image"),
        "{problems:?}"
    );
}
