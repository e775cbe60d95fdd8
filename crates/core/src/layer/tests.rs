use super::*;

const CAP_DAC_OVERRIDE: u64 = 1 << 1;
const CAP_DAC_READ_SEARCH: u64 = 1 << 2;
const CAP_KILL: u64 = 1 << 5;
const CAP_SYS_PTRACE: u64 = 1 << 19;
const CAP_SYS_ADMIN: u64 = 1 << 21;

fn failure(syscall: &str, errno: u32, caps: u64) -> Failure {
    Failure {
        syscall: syscall.into(),
        errno,
        failed_caps: caps,
        ..Failure::default()
    }
}

fn none(_: &str) -> Option<i64> {
    None
}

#[test]
fn a_failed_capability_check_names_the_capability_and_the_ways_to_grant_it() {
    let found = classify(&failure("sethostname", 1, CAP_SYS_ADMIN), &none);
    assert_eq!(found.layer, Layer::Capability);
    assert_eq!(found.capabilities, ["CAP_SYS_ADMIN"]);
    assert!(
        found.fix.contains("docker run --cap-add SYS_ADMIN"),
        "{}",
        found.fix
    );
    assert!(
        found.fix.contains("capabilities.add: [\"SYS_ADMIN\"]"),
        "{}",
        found.fix
    );
    assert_eq!(found.to_string(), "capability: CAP_SYS_ADMIN");
    assert!(!found.also_seccomp);
}

#[test]
fn dac_checks_on_a_path_call_are_file_permissions() {
    let mut f = failure("openat", 13, CAP_DAC_OVERRIDE | CAP_DAC_READ_SEARCH);
    f.path = Some(PathFacts {
        path: "/etc/shadow".into(),
        mode: Some(0o100640),
        uid: Some(0),
        gid: Some(42),
    });
    f.caller = Some(Caller {
        uid: 65534,
        gids: vec![65534],
    });
    let found = classify(&f, &none);
    assert_eq!(found.layer, Layer::Permissions);
    assert_eq!(
        found.evidence,
        "/etc/shadow (mode 0640, owner 0:42) is not open to uid 65534 (groups 65534); \
         only file-permission checks (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) failed"
    );
    assert_eq!(found.to_string(), "permissions: /etc/shadow");
    // Without a path the same failed checks are a capability, not a file mode.
    f.path = None;
    assert_eq!(classify(&f, &none).layer, Layer::Capability);
}

#[test]
fn other_capabilities_outweigh_the_dac_checks_of_a_path_lookup() {
    let found = classify(
        &failure("mount", 1, CAP_DAC_OVERRIDE | CAP_SYS_ADMIN),
        &none,
    );
    assert_eq!(found.layer, Layer::Capability);
    assert_eq!(found.capabilities, ["CAP_SYS_ADMIN"]);
}

#[test]
fn a_shut_sysctl_gate_is_named_with_its_value_and_risk() {
    let sysctl = |name: &str| (name == "vm.unprivileged_userfaultfd").then_some(0);
    let found = classify(&failure("userfaultfd", 1, CAP_SYS_PTRACE), &sysctl);
    assert_eq!(found.layer, Layer::Sysctl);
    assert_eq!(
        found.sysctl,
        Some(Sysctl {
            name: "vm.unprivileged_userfaultfd",
            value: 0
        })
    );
    assert!(found
        .fix
        .starts_with("sysctl -w vm.unprivileged_userfaultfd=1 (risk:"));
    assert!(found.evidence.contains("CAP_SYS_PTRACE was not held"));
    // Open, the gate explains nothing: the capability does.
    let open = |name: &str| (name == "vm.unprivileged_userfaultfd").then_some(1);
    let found = classify(&failure("userfaultfd", 1, CAP_SYS_PTRACE), &open);
    assert_eq!(found.layer, Layer::Capability);
}

#[test]
fn user_namespace_gates_apply_only_when_no_capability_failed() {
    let sysctl = |name: &str| match name {
        "user.max_user_namespaces" => Some(0),
        _ => None,
    };
    assert_eq!(
        classify(&failure("unshare", 1, 0), &sysctl).layer,
        Layer::Sysctl
    );
    let found = classify(&failure("unshare", 1, CAP_SYS_ADMIN), &sysctl);
    assert_eq!(found.layer, Layer::Capability);
    let debian = |name: &str| (name == "kernel.unprivileged_userns_clone").then_some(0);
    let found = classify(&failure("clone", 1, 0), &debian);
    assert_eq!(
        found.sysctl.unwrap().name,
        "kernel.unprivileged_userns_clone"
    );
}

#[test]
fn the_profile_and_a_capability_both_refusing_are_both_said() {
    let mut f = failure("sethostname", 1, CAP_SYS_ADMIN);
    f.profile = Profile::WouldDeny;
    let found = classify(&f, &none);
    assert_eq!(found.layer, Layer::Capability);
    assert!(found.also_seccomp);
    // Enforced, the call never ran: seccomp alone refused it.
    f.profile = Profile::Denied;
    f.failed_caps = 0;
    let found = classify(&f, &none);
    assert_eq!(found.layer, Layer::Seccomp);
    assert!(!found.also_seccomp);
}

#[test]
fn a_filter_of_the_process_s_own_with_no_failed_check_is_seccomp_other() {
    let mut f = failure("socket", 1, 0);
    f.other_filters = Some(1);
    let found = classify(&f, &none);
    assert_eq!(found.layer, Layer::SeccompOther);
    assert!(found.fix.contains("the profile cannot help"));
    // With no filter of its own and no evidence: unknown, never a guess.
    f.other_filters = Some(0);
    let found = classify(&f, &none);
    assert_eq!(found.layer, Layer::Unknown);
    assert_eq!(
        found.to_string(),
        "unknown: not seccomp; no layer identified"
    );
}

#[test]
fn kill_of_another_user_s_process_is_cap_kill() {
    let found = classify(&failure("kill", 1, CAP_KILL), &none);
    assert_eq!(found.to_string(), "capability: CAP_KILL");
}

const APPARMOR: &str = r#"type=AVC msg=audit(1609167925.123:456): apparmor="DENIED" operation="open" profile="/usr/sbin/cupsd" name="/etc/shadow" pid=1234 comm="cupsd" requested_mask="r" denied_mask="r" fsuid=0 ouid=0"#;
const SELINUX: &str = r#"type=AVC msg=audit(1226270358.848:238): avc:  denied  { write } for  pid=13349 comm="certwatch" name="cache" dev=dm-0 ino=218171 scontext=system_u:system_r:certwatch_t:s0 tcontext=system_u:object_r:var_t:s0 tclass=dir permissive=0"#;
const LANDLOCK: &str = r#"type=LANDLOCK_ACCESS msg=audit(1729738800.268:30): domain=1a6fdc66f blockers=fs.read_file path="/etc/passwd" dev="vda2" ino=2316 pid=77 comm="sandboxed""#;

#[test]
fn lsm_records_are_read_from_audit_lines_and_name_their_layer() {
    let a = lsm::parse(APPARMOR).unwrap();
    assert_eq!(
        (
            a.lsm,
            a.pid,
            a.operation.as_str(),
            a.subject.as_str(),
            a.object.as_str()
        ),
        (
            lsm::Lsm::AppArmor,
            Some(1234),
            "open",
            "/usr/sbin/cupsd",
            "/etc/shadow"
        )
    );
    let s = lsm::parse(SELINUX).unwrap();
    assert_eq!(s.lsm, lsm::Lsm::SELinux);
    assert_eq!(s.operation, "{ write }");
    assert_eq!(s.subject, "system_u:system_r:certwatch_t:s0");
    assert_eq!(s.object, "system_u:object_r:var_t:s0 (dir \"cache\")");
    let l = lsm::parse(LANDLOCK).unwrap();
    assert_eq!(
        (l.lsm, l.operation.as_str(), l.object.as_str()),
        (lsm::Lsm::Landlock, "fs.read_file", "/etc/passwd")
    );
    let kmsg = APPARMOR.replace("type=AVC msg=audit(", "audit: type=1400 audit(");
    assert_eq!(lsm::parse(&kmsg).unwrap().subject, "/usr/sbin/cupsd");
    let mut f = failure("openat", 13, CAP_DAC_OVERRIDE);
    f.lsm = Some(a);
    let found = classify(&f, &none);
    assert_eq!(found.layer, Layer::Lsm);
    assert_eq!(found.to_string(), "lsm: apparmor");
    assert!(found.fix.contains("aa-logprof"), "{}", found.fix);
}

#[test]
fn what_is_not_a_refusal_is_no_lsm_record() {
    assert_eq!(lsm::parse(&APPARMOR.replace("DENIED", "ALLOWED")), None);
    assert_eq!(
        lsm::parse(&SELINUX.replace("permissive=0", "permissive=1")),
        None
    );
    assert_eq!(lsm::parse(&SELINUX.replace("denied", "granted")), None);
    assert_eq!(
        lsm::parse("type=SECCOMP msg=audit(1.2:3): pid=1 syscall=1 code=0x50000"),
        None
    );
}

#[test]
fn a_landlocked_caller_with_no_failed_check_is_refused_by_landlock() {
    let mut f = failure("openat", 13, 0);
    f.landlocked = true;
    let found = classify(&f, &none);
    assert_eq!(found.layer, Layer::Lsm);
    assert_eq!(found.to_string(), "lsm: landlock");
    // A failed capability check is the better evidence.
    f.failed_caps = CAP_SYS_ADMIN;
    assert_eq!(classify(&f, &none).layer, Layer::Capability);
}

fn device(kind: char, major: u32, minor: u32, access: u32) -> Device {
    Device {
        block: kind == 'b',
        major,
        minor,
        access,
        host_path: None,
    }
}

#[test]
fn a_device_list_allows_what_its_rules_name_and_nothing_else() {
    // Docker's default list, as runc writes it to a v1 devices cgroup.
    let list =
        DeviceList::parse("c *:* m\nb *:* m\nc 1:3 rwm\nc 1:5 rwm\nc 136:* rwm\nc 10:200 rwm\n");
    assert!(!list.allows_all());
    assert!(list.allows(&device('c', 1, 3, 2 | 4)));
    assert!(list.allows(&device('c', 136, 7, 2)));
    assert!(
        list.allows(&device('c', 10, 237, 1)),
        "mknod of any char device"
    );
    assert!(
        !list.allows(&device('c', 10, 237, 2)),
        "read of loop-control"
    );
    assert!(
        !list.allows(&device('b', 1, 3, 2)),
        "a block device of the same numbers"
    );
    assert!(DeviceList::parse("a *:* rwm\n").allows_all());
    assert!(DeviceList::parse("a *:* rwm\n").allows(&device('b', 7, 0, 6)));
}

#[test]
fn a_device_the_device_cgroup_refused_names_it_and_how_to_give_it() {
    let mut f = failure("openat", 1, 0);
    f.device = Some(Device {
        host_path: Some("/dev/loop-control".into()),
        ..device('c', 10, 237, 2)
    });
    let found = classify(&f, &none);
    assert_eq!(found.layer, Layer::Devices);
    assert_eq!(found.to_string(), "devices: c 10:237");
    assert!(
        found
            .evidence
            .contains("for r access to c 10:237 (/dev/loop-control on the host)"),
        "{}",
        found.evidence
    );
    for part in [
        "docker run --device /dev/loop-control",
        "--device-cgroup-rule 'c 10:237 r'",
        r#"linux.resources.devices: [{"allow": true, "type": "c", "major": 10, "minor": 237, "access": "r"}]"#,
    ] {
        assert!(found.fix.contains(part), "{part} in {}", found.fix);
    }
}

#[test]
fn root_without_the_capability_is_not_told_to_run_as_root() {
    let mut f = failure("fchownat", 1, 1 << 0);
    f.caller = Some(Caller {
        uid: 0,
        gids: vec![0],
    });
    let found = classify(&f, &none);
    assert_eq!(found.capabilities, ["CAP_CHOWN"]);
    assert!(
        found.fix.contains("docker run --cap-add CHOWN"),
        "{}",
        found.fix
    );
    assert!(!found.fix.contains("run as root"), "{}", found.fix);
    f.caller = Some(Caller {
        uid: 65534,
        gids: vec![65534],
    });
    assert!(classify(&f, &none)
        .fix
        .ends_with("or run as root (without --user)"));
}
