//! The output shapes scripts rely on, and the arithmetic of round trips.

use super::*;
use libamoeba::servers::sys::{FlipCounts, RpcCounts};

fn cap(n: u8) -> Capability {
    Capability::new(
        libamoeba::capability::Port([n; 6]),
        u32::from(n),
        0xFF,
        [n; 6],
    )
    .unwrap()
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

#[test]
fn entries_as_json_and_aligned_text() {
    let entries = [
        Entry {
            name: "sys".into(),
            capability: cap(1),
        },
        Entry {
            name: "random".into(),
            capability: cap(2),
        },
    ];
    let json = entries_json(&entries);
    assert_eq!(json[0]["name"], "sys");
    assert_eq!(json[0]["capability"], cap(1).to_string());
    assert_eq!(json.as_array().map(Vec::len), Some(2));
    let text = entries_text(&entries);
    assert_eq!(text, format!("sys     {}\nrandom  {}\n", cap(1), cap(2)));
}

#[test]
fn processes_show_info_or_the_error() {
    let processes = [
        Process {
            pid: "7".into(),
            capability: cap(7),
            info: Ok("process shell pid 7".into()),
        },
        Process {
            pid: "12".into(),
            capability: cap(12),
            info: Err(ErrorCode::STD_CAPBAD),
        },
    ];
    let json = processes_json(&processes);
    assert_eq!(json[0]["info"], "process shell pid 7");
    assert!(json[0].get("error").is_none());
    assert_eq!(json[1]["error"], "STD_CAPBAD");
    assert_eq!(json[1]["pid"], "12");
    let text = processes_text(&processes);
    assert!(text.starts_with("2 processes\n"), "{text}");
    assert!(
        text.contains(&format!("   12  (STD_CAPBAD)  {}", cap(12))),
        "{text}"
    );
}

#[test]
fn kstat_json_names_every_field() {
    let stats = Kstat {
        uptime_ns: 1_500_000_000,
        memory_total: 128 << 20,
        memory_free: 100 << 20,
        heap_bytes: 1 << 20,
        threads: 9,
        processes: 2,
        interrupts: 1000,
        context_switches: 5000,
        rpc: RpcCounts {
            trans: 10,
            getreq: 11,
            putrep: 12,
            failures: 1,
        },
        flip: FlipCounts {
            frames_in: 40,
            malformed: 2,
            ..FlipCounts::default()
        },
    };
    let json = kstat_json(&stats);
    assert_eq!(json["uptime_ns"], 1_500_000_000u64);
    assert_eq!(json["memory_free"], 100u64 << 20);
    assert_eq!(json["threads"], 9);
    assert_eq!(json["rpc"]["putrep"], 12);
    assert_eq!(json["flip"]["malformed"], 2);
    let text = kstat_text(&stats);
    assert!(text.starts_with("uptime            1.500 s\n"), "{text}");
    assert!(
        text.contains("memory free       104857600 bytes (100.0 MiB)"),
        "{text}"
    );
    assert!(
        text.contains("trans 10, getreq 11, putrep 12, failures 1"),
        "{text}"
    );
}

#[test]
fn the_median_of_odd_and_even_counts() {
    let odd = RoundTrips {
        results: vec![
            Ok(ms(3)),
            Err(ErrorCode::RPC_NOTFOUND),
            Ok(ms(1)),
            Ok(ms(2)),
        ],
    };
    let summary = odd.summary().unwrap();
    assert_eq!(
        (summary.answered, summary.min, summary.median, summary.max),
        (3, ms(1), ms(2), ms(3))
    );
    assert_eq!(summary.total, ms(6));
    let even = RoundTrips {
        results: vec![Ok(ms(4)), Ok(ms(1)), Ok(ms(2)), Ok(ms(10))],
    };
    assert_eq!(even.summary().map(|s| s.median), Some(ms(3)));
    assert_eq!(RoundTrips::default().summary(), None);
}

#[test]
fn round_trips_as_json_and_text() {
    let trips = RoundTrips {
        results: vec![Ok(Duration::from_micros(1234)), Err(ErrorCode::RPC_FAILURE)],
    };
    let json = trips.to_json();
    assert_eq!(json["calls"][0]["seq"], 1);
    assert_eq!(json["calls"][0]["rtt_ms"], 1.234);
    assert_eq!(json["calls"][1]["error"], "RPC_FAILURE");
    assert_eq!(json["answered"], 1);
    assert_eq!(json["median_ms"], 1.234);
    assert!(!trips.all_answered());
    let text = trips.to_text();
    assert_eq!(
        text,
        "seq 1: 1.234 ms\nseq 2: RPC_FAILURE\n1 of 2 answered; round trip min 1.234 / median \
         1.234 / max 1.234 ms\n"
    );
    let none = RoundTrips {
        results: vec![Err(ErrorCode::RPC_NOTFOUND)],
    };
    assert!(none.to_json()["min_ms"].is_null());
    assert!(none.to_text().ends_with("0 of 1 answered\n"));
}

#[test]
fn measure_times_every_call_in_order() {
    let mut seq = 0;
    let trips = RoundTrips::measure(3, Duration::ZERO, || {
        seq += 1;
        if seq == 2 {
            Err(ErrorCode::STD_DENIED)
        } else {
            Ok(())
        }
    });
    assert_eq!(trips.results.len(), 3);
    assert_eq!(trips.results[1], Err(ErrorCode::STD_DENIED));
    assert!(trips.results[0].is_ok() && trips.results[2].is_ok());
}

#[test]
fn throughput_is_data_over_time() {
    let summary = Summary {
        answered: 4,
        min: ms(250),
        median: ms(250),
        max: ms(250),
        total: ms(1000),
    };
    assert_eq!(throughput(30_000, &summary), 120_000.0);
}

#[test]
fn rpc_errors_say_what_was_being_done() {
    let error = rpc_context::<()>(Err(ErrorCode::STD_NOTFOUND), || {
        "looking up `ps` in pool-1".into()
    })
    .unwrap_err();
    assert_eq!(error.to_string(), "looking up `ps` in pool-1: STD_NOTFOUND");
    let error = rpc_context::<()>(Err(ErrorCode::RPC_NOTFOUND), || "calling".into()).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("calling: RPC_NOTFOUND (no server")
    );
}
