//! Merging profiles, judged by verdicts: what the compiled result allows and
//! denies. A test of `profile::merge` from outside, because it needs the
//! compiler, which `profile` itself never imports.
use eperm_core::compile::{compile, Mode};
use eperm_core::profile::merge::{merge, Merged};
use eperm_core::profile::{load_str, resolve, Action, Profile, Target, Verdict};

fn load(name: &str, text: &str) -> Profile {
    load_str(name, text.to_string()).unwrap()
}

fn verdict(p: &Profile, name: &str, args: [u64; 6]) -> Verdict {
    let target = Target::docker_on_host();
    let resolved = resolve(p, &target);
    let compiled = compile(&resolved, Mode::Enforce).unwrap();
    let arch = target.arch;
    let nr = arch.syscall_nr(name).unwrap();
    compiled.evaluate(arch, nr, args).verdict
}

const A: &str = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
    {"names":["read","write","socket"],"action":"SCMP_ACT_ALLOW"},
    {"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#;
const B: &str = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
    {"names":["read","openat"],"action":"SCMP_ACT_ALLOW"},
    {"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
    {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#;

fn merged() -> (Profile, Profile, Profile, Merged) {
    let (a, b) = (load("a.json", A), load("b.json", B));
    let m = merge(
        &[("a.json".into(), &a), ("b.json".into(), &b)],
        &Target::docker_on_host(),
    );
    let text = serde_json::to_string(&m.plain.to_json(true)).unwrap();
    (a, b, load("m.json", &text), m)
}

#[test]
fn everything_either_input_allows_the_result_allows() {
    let (a, b, m, _) = merged();
    for (input, calls) in [
        (&a, vec![("read", 0), ("write", 0), ("socket", 2)]),
        (
            &b,
            vec![
                ("read", 0),
                ("openat", 0),
                ("socket", 1),
                ("personality", 8),
            ],
        ),
    ] {
        for (name, arg0) in calls {
            let args = [arg0, 0, 0, 0, 0, 0];
            assert_eq!(
                verdict(input, name, args),
                Verdict::ALLOW,
                "{name} in input"
            );
            assert_eq!(verdict(&m, name, args), Verdict::ALLOW, "{name} in merge");
        }
    }
}

#[test]
fn allowed_with_args_in_one_and_without_in_the_other_is_allowed_without() {
    let (_, _, m, _) = merged();
    assert_eq!(verdict(&m, "socket", [10, 0, 0, 0, 0, 0]), Verdict::ALLOW);
    // Only b allowed personality, and only with 8.
    assert_eq!(
        verdict(&m, "personality", [8, 0, 0, 0, 0, 0]),
        Verdict::ALLOW
    );
    assert_eq!(
        verdict(&m, "personality", [0, 0, 0, 0, 0, 0]).action,
        Action::Errno
    );
}

#[test]
fn denials_stay_as_written_and_comments_name_who_needed_what() {
    let (_, _, m, merged) = merged();
    assert_eq!(
        verdict(&m, "clone3", [0; 6]),
        Verdict {
            action: Action::Errno,
            data: 38
        }
    );
    assert_eq!(verdict(&m, "mount", [0; 6]).action, Action::Errno);
    let comments: Vec<&str> = merged
        .plain
        .rules
        .iter()
        .filter_map(|r| r.comment.as_deref())
        .collect();
    assert!(comments.contains(&"needed by every input"), "{comments:?}");
    assert!(comments.contains(&"needed by a.json"), "{comments:?}");
    assert!(comments.contains(&"needed by b.json"), "{comments:?}");
    assert!(
        comments
            .iter()
            .any(|c| c.starts_with("personality with these arguments: needed by b.json")),
        "{comments:?}"
    );
    let every = merged
        .plain
        .rules
        .iter()
        .find(|r| r.comment.as_deref() == Some("needed by every input"))
        .unwrap();
    assert_eq!(every.names, ["read", "socket"]);
}
