use super::testing::{leftovers, temp_file};
use super::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[test]
fn writes_a_new_file_and_replaces_an_old_one_by_rename() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    write(&path, b"first", FileOp::Write).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"first");
    let inode = fs::metadata(&path).unwrap().ino();
    write(&path, b"second", FileOp::Write).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"second");
    assert_ne!(fs::metadata(&path).unwrap().ino(), inode);
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn keeps_the_mode_the_owner_and_the_extended_attributes() {
    let (_dir, path) = temp_file("p.json", "old");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let f = fs::File::open(&path).unwrap();
    let xattr = rfs::fsetxattr(&f, "user.eperm-test", b"kept", XattrFlags::empty()).is_ok();
    drop(f);
    if is_root() {
        rfs::chown(
            &path,
            Some(rfs::Uid::from_raw(65534)),
            Some(rfs::Gid::from_raw(65534)),
        )
        .unwrap();
    }
    write(&path, b"new", FileOp::Write).unwrap();
    let meta = fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    if is_root() {
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    }
    if xattr {
        let f = fs::File::open(&path).unwrap();
        let mut buf = [0u8; 16];
        let n = rfs::fgetxattr(&f, "user.eperm-test", &mut buf[..]).unwrap();
        assert_eq!(&buf[..n], b"kept");
    }
}

#[test]
fn keeps_an_acl() {
    let (_dir, path) = temp_file("p.json", "old");
    // user::rw-, user:65534:r--, group::r--, mask::r--, other::---
    let mut acl = vec![2u8, 0, 0, 0];
    for (tag, perm, id) in [
        (1u16, 6u16, u32::MAX),
        (2, 4, 65534),
        (4, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        acl.extend_from_slice(&tag.to_le_bytes());
        acl.extend_from_slice(&perm.to_le_bytes());
        acl.extend_from_slice(&id.to_le_bytes());
    }
    let f = fs::File::open(&path).unwrap();
    if rfs::fsetxattr(&f, "system.posix_acl_access", &acl, XattrFlags::empty()).is_err() {
        return; // no ACLs on this filesystem
    }
    drop(f);
    write(&path, b"new", FileOp::Write).unwrap();
    let f = fs::File::open(&path).unwrap();
    let kept = with_buffer(
        || rfs::fgetxattr_query(&f, "system.posix_acl_access"),
        |buf| rfs::fgetxattr(&f, "system.posix_acl_access", buf),
    )
    .unwrap();
    assert_eq!(kept, acl);
}

#[test]
fn refuses_a_link_a_fifo_a_directory_and_a_device_by_name() {
    let (dir, victim) = temp_file("victim", "precious");
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let fifo = dir.path().join("fifo.json");
    rfs::mknodat(CWD, &fifo, FileType::Fifo, Mode::from_raw_mode(0o644), 0).unwrap();
    let sub = dir.path().join("sub");
    fs::create_dir(&sub).unwrap();
    for (path, what) in [
        (link.as_path(), "a symbolic link"),
        (fifo.as_path(), "a FIFO"),
        (sub.as_path(), "a directory"),
        (Path::new("/dev/null"), "a character device"),
    ] {
        let e = write(path, b"x", FileOp::Write).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("cannot write {}: it is {what}", path.display())),
            "{text}"
        );
        assert!(e.is_bad_input(), "{text}");
    }
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn temporary_names_are_unpredictable_and_removed_when_not_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    let a = Output::create(&path, FileOp::Write).unwrap();
    let b = Output::create(&path, FileOp::Write).unwrap();
    let (na, nb) = (
        a.temp_name().unwrap().to_owned(),
        b.temp_name().unwrap().to_owned(),
    );
    assert_ne!(na, nb);
    let name = na.to_string_lossy().into_owned();
    assert!(
        name.starts_with(".out.json.") && name.ends_with(TEMP_SUFFIX),
        "{name}"
    );
    assert!(!name.contains(&std::process::id().to_string()), "{name}");
    assert_eq!(leftovers(dir.path()).len(), 2);
    drop((a, b));
    assert!(leftovers(dir.path()).is_empty());
    assert!(!path.exists());
}

#[test]
fn a_failed_write_keeps_the_old_file_and_leaves_nothing() {
    let (dir, path) = temp_file("out.json", "old");
    let mut out = Output::create(&path, FileOp::Write).unwrap();
    out.write_all(b"half").unwrap();
    drop(out); // as when a write fails (a full disk) before the commit
    assert_eq!(fs::read(&path).unwrap(), b"old");
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn publish_puts_the_file_in_place_for_writing_on() {
    let (dir, path) = temp_file("ev.jsonl", "last run's");
    let mut file = Output::create(&path, FileOp::CreateEvents)
        .unwrap()
        .publish()
        .unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"");
    file.write_all(b"{}\n").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"{}\n");
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn reads_regular_files_only_and_up_to_a_cap() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    rfs::mknodat(CWD, &fifo, FileType::Fifo, Mode::from_raw_mode(0o644), 0).unwrap();
    let e = read(&fifo, PROFILE).unwrap_err();
    assert!(
        is_refusal(&e) && e.to_string().starts_with("it is a FIFO"),
        "{e}"
    );
    let e = read(Path::new("/dev/zero"), PROFILE).unwrap_err();
    assert!(e.to_string().starts_with("it is a character device"), "{e}");
    let big = dir.path().join("big");
    fs::write(&big, vec![b' '; 100]).unwrap();
    let small = Limit {
        bytes: 10,
        what: "a test file",
    };
    let e = read(&big, small).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "it holds 100 bytes, more than eperm reads from a test file (10 bytes)\n  hint: "
        ),
        "{e}"
    );
    let e = read_capped(io::repeat(0), 0, small).unwrap_err();
    assert!(is_refusal(&e), "{e}");
    assert!(e.to_string().starts_with("it holds over 10 bytes,"), "{e}");
    assert_eq!(read(&big, PROFILE).unwrap().len(), 100);
    let e = read(&dir.path().join("gone"), PROFILE).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotFound);
}

#[test]
fn picked_paths_in_a_directory_anyone_may_write_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let e = check_picked(&open.join("r.md"), FileOp::WriteReport, "name it").unwrap_err();
    assert!(e.to_string().contains("no sticky bit"), "{e}");
    assert!(e.to_string().contains("hint: name it"), "{e}");
    fs::set_permissions(&open, fs::Permissions::from_mode(0o1777)).unwrap();
    check_picked(&open.join("r.md"), FileOp::WriteReport, "name it").unwrap();
    if is_root() {
        fs::write(open.join("r.md"), "").unwrap();
        rfs::chown(open.join("r.md"), Some(rfs::Uid::from_raw(65534)), None).unwrap();
        let e = check_picked(&open.join("r.md"), FileOp::WriteReport, "x").unwrap_err();
        assert!(e.to_string().contains("it belongs to user 65534"), "{e}");
        rfs::chown(&open, Some(rfs::Uid::from_raw(65534)), None).unwrap();
        let e = check_picked(&open.join("other.md"), FileOp::WriteReport, "x").unwrap_err();
        assert!(
            e.to_string()
                .contains("its directory belongs to user 65534"),
            "{e}"
        );
    }
}

#[test]
fn a_pin_notices_a_swapped_link_and_follows_its_own_saves() {
    let (dir, path) = temp_file("p.json", "old");
    let mut pin = Pin::take(&path).unwrap();
    pin.check(&path).unwrap();
    pin.write(b"new", FileOp::SaveProfile).unwrap();
    pin.check(&path).unwrap();
    // Replaced from outside: the same place, another file.
    fs::write(dir.path().join("x"), "theirs").unwrap();
    fs::rename(dir.path().join("x"), &path).unwrap();
    assert_eq!(pin.check(&path), Err(Drift::Replaced));
    assert!(pin.reload(&path));
    pin.check(&path).unwrap();
    // Swapped for a link elsewhere.
    let elsewhere = dir.path().join("elsewhere.json");
    fs::write(&elsewhere, "root's").unwrap();
    fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    let now = fs::canonicalize(&elsewhere).unwrap();
    assert_eq!(pin.check(&path), Err(Drift::Moved { now: Some(now) }));
    assert!(!pin.reload(&path));
}

#[test]
fn same_file_sees_through_links() {
    let (dir, a) = temp_file("a", "");
    let b = dir.path().join("b");
    std::os::unix::fs::symlink(&a, &b).unwrap();
    assert!(same_file(&a, &b));
    assert!(!same_file(&a, &dir.path().join("c")));
}

#[test]
fn untrusted_reads_follow_no_link_open_no_fifo_and_stop_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(&file, b"{}").unwrap();
    assert_eq!(read_untrusted(&file, PROFILE).unwrap(), b"{}");
    // A link as the file, and a link as a directory on the way: both refused.
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    assert!(read_untrusted(&link, PROFILE).is_err());
    let linked_dir = dir.path().join("d");
    std::os::unix::fs::symlink(dir.path(), &linked_dir).unwrap();
    assert!(read_untrusted(&linked_dir.join("config.json"), PROFILE).is_err());
    // A FIFO is refused without waiting for a writer.
    let fifo = dir.path().join("fifo");
    rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from(0o600)).unwrap();
    let e = read_untrusted(&fifo, PROFILE).unwrap_err();
    assert!(is_refusal(&e), "{e}");
    let small = Limit {
        bytes: 1,
        what: "a test file",
    };
    assert!(is_refusal(&read_untrusted(&file, small).unwrap_err()));
}
