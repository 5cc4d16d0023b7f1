use super::*;

#[test]
fn members_parse_with_and_without_counts() {
    assert_eq!(
        Member::parse("pool:2"),
        Ok(Member {
            profile: "pool".into(),
            count: 2
        })
    );
    assert_eq!(Member::parse("pool").map(|m| m.count), Ok(1));
    assert_eq!(
        Member::parse("tests/profiles/x.toml").map(|m| m.profile),
        Ok("tests/profiles/x.toml".into())
    );
    for bad in ["pool:0", "pool:x", "pool:", "pool:255"] {
        assert!(
            matches!(Member::parse(bad), Err(ClusterError::BadCount { .. })),
            "{bad}"
        );
    }
}

#[test]
fn nodes_multiply_a_single_profile_only() {
    let pool = vec!["pool".to_string()];
    assert_eq!(members(&pool, Some(3)).map(|m| m[0].count), Ok(3));
    let two = vec!["fileserver".to_string(), "pool:2".to_string()];
    assert_eq!(members(&two, None).map(|m| m.len()), Ok(2));
    assert_eq!(
        members(&two, Some(3)),
        Err(ClusterError::NodesWithSeveralProfiles)
    );
    assert_eq!(members(&[], None), Err(ClusterError::NoNodes));
    assert_eq!(
        members(&["a:200".into(), "b:100".into()], None),
        Err(ClusterError::TooManyNodes(300))
    );
    assert!(
        ClusterError::NodesWithSeveralProfiles
            .to_string()
            .contains("--profile pool:2")
    );
}

#[test]
fn names_too_long_with_their_number_are_refused() {
    let members = [Member {
        profile: "p".into(),
        count: 12,
    }];
    let long = "a".repeat(30);
    assert_eq!(check_names(&members, &["pool"]), Ok(()));
    assert_eq!(
        check_names(&members, &[long.as_str()]),
        Err(ClusterError::NodeName(format!("{long}-12")))
    );
}
