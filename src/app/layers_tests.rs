//! The other layers in the App: a refusal joined with the profile's row of the
//! same syscall, what `a` says then, and what a run that does not watch says.

use super::layers::TableLine;
use super::testing::{app_with, config, event, press, PROFILE};
use super::Msg;
use crate::layer::{Caller, Failure, Layer, PathFacts, Profile};
use crate::sources::event::CallArch;
use crate::sources::refusal::{Refusal, Watch};

/// sethostname refused for want of CAP_SYS_ADMIN, as the watcher's thread
/// classifies it.
pub fn refused(syscall: &str, failed_caps: u64) -> Watch {
    let mut r = Refusal {
        time_ms: 9,
        pid: 7,
        tid: 7,
        comm: "hostname".into(),
        arch: CallArch::Known(crate::arch::Arch::X86_64),
        syscall: syscall.into(),
        nr: 170,
        failure: Failure {
            syscall: syscall.into(),
            errno: 1,
            failed_caps,
            ..Failure::default()
        },
        finding: None,
    };
    r.classify(Profile::Allows);
    Watch::Refused(Box::new(r))
}

/// openat of /etc/shadow as nobody: only the DAC capabilities failed, on a
/// path call (file permissions).
pub fn shadow_refusal() -> Refusal {
    let Watch::Refused(mut r) = refused("openat", (1 << 1) | (1 << 2)) else {
        unreachable!()
    };
    r.nr = 257;
    r.comm = "cat".into();
    r.failure.errno = 13;
    r.failure.path = Some(PathFacts {
        path: "/etc/shadow".into(),
        mode: Some(0o640),
        uid: Some(0),
        gid: Some(42),
    });
    r.failure.caller = Some(Caller {
        uid: 65534,
        gids: vec![65534],
    });
    r.classify(Profile::Allows);
    *r
}

#[test]
fn a_row_another_layer_refuses_too_says_an_allowance_is_not_enough() {
    let mut app = app_with(PROFILE, config(None));
    app.update(Msg::Layer(Watch::Watching));
    app.update(Msg::Event(event("sethostname", 7, 0)));
    app.update(Msg::Layer(refused("sethostname", 1 << 21)));
    let r = app
        .also_refused("sethostname")
        .expect("joined with the row");
    let f = r.finding.as_ref().unwrap();
    assert_eq!((f.layer, f.also_seccomp), (Layer::Capability, true));
    press(&mut app, 'a');
    assert!(
        app.message.contains(
            "a seccomp allowance will not be enough: capability: CAP_SYS_ADMIN refuses it too"
        ),
        "{}",
        app.message
    );
}

#[test]
fn under_enforce_the_profile_s_denial_is_its_own() {
    let mut app = app_with(
        PROFILE,
        super::Config {
            enforce: true,
            ..config(None)
        },
    );
    app.update(Msg::Event(event("sethostname", 7, 0)));
    app.update(Msg::Layer(refused("sethostname", 0)));
    assert!(app.run.refused.is_empty());
    // A call the profile allows, refused elsewhere, is kept.
    app.update(Msg::Layer(refused("kill", 1 << 5)));
    assert_eq!(app.run.refused.len(), 1);
}

/// A call only another layer refused has a row of its own, its hits counted;
/// `a`, `d` and `e` on it leave the profile alone and say why, with the fix;
/// the rows of the profile, the report's and the session diff's source, do
/// not change.
#[test]
fn a_row_only_another_layer_refused_is_not_the_profile_s_to_edit() {
    let mut app = app_with(PROFILE, config(None));
    app.update(Msg::Layer(Watch::Watching));
    app.update(Msg::Event(event("mkdir", 7, 0)));
    app.update(Msg::Layer(refused("sethostname", 1 << 21)));
    app.update(Msg::Layer(refused("sethostname", 1 << 21)));
    app.update(Msg::Layer(Watch::Refused(Box::new(shadow_refusal()))));
    assert_eq!(
        app.table_lines(),
        vec![
            TableLine::Profile(0),
            TableLine::Layer(0),
            TableLine::Layer(1)
        ]
    );
    assert_eq!(app.run.refused[0].1, 2, "sethostname's hits");
    assert_eq!(
        app.run.refused[1].0.finding.as_ref().map(|f| f.layer),
        Some(Layer::Permissions)
    );
    let before = app.profile.text.clone();
    press(&mut app, 'j');
    let (r, hits) = app.selected_refusal().expect("sethostname's row");
    assert_eq!((r.syscall.as_str(), hits), ("sethostname", 2));
    assert!(app.selected_row().is_none());
    for key in ['a', 'd', 'e'] {
        app.message.clear();
        let effects = press(&mut app, key);
        assert!(effects.is_empty(), "{key}: {effects:?}");
        assert!(app.prompt.is_none(), "{key} opened a prompt");
        assert_eq!(
            app.message,
            "sethostname: capability: CAP_SYS_ADMIN refused it, not the profile's: \
             a seccomp allowance will not help; fix: grant it: docker run --cap-add SYS_ADMIN \
             (podman run --cap-add SYS_ADMIN; Kubernetes: securityContext.capabilities.add: \
             [\"SYS_ADMIN\"]), or run as root (without --user)",
            "after {key}"
        );
    }
    assert_eq!(app.profile.text.clone(), before, "the profile is unchanged");
    assert!(app.decided.is_empty() && app.undo.is_empty());
    assert_eq!((app.rows.len(), app.hits()), (1, 1));
    let report = app.triage();
    assert_eq!(report.denials.len(), 1, "mkdir alone");
    assert!(report.decisions.is_empty() && report.diff.is_empty());
    // The permissions row says its own fix.
    press(&mut app, 'j');
    press(&mut app, 'a');
    assert!(
        app.message.starts_with(
            "openat: permissions: /etc/shadow refused it, not the profile's: \
             a seccomp allowance will not help; fix: "
        ),
        "{}",
        app.message
    );
    // Back on the profile's row, `a` allows it as before.
    app.update(Msg::Key(super::Key::Home, super::Mods::NONE));
    press(&mut app, 'a');
    assert_eq!(
        app.decided.get("mkdir"),
        Some(&super::UserDecision::AllowedNow)
    );
}

/// Once the profile denies the call too, the refusal joins the profile's row
/// (its layer column) and has no row of its own.
#[test]
fn a_refusal_joins_the_profile_s_row_when_one_comes() {
    let mut app = app_with(PROFILE, config(None));
    app.update(Msg::Layer(refused("sethostname", 1 << 21)));
    assert_eq!(app.table_lines(), vec![TableLine::Layer(0)]);
    app.update(Msg::Event(event("sethostname", 7, 0)));
    assert_eq!(app.table_lines(), vec![TableLine::Profile(0)]);
    assert_eq!(
        app.row_layers("sethostname"),
        Some(vec!["cap:SYS_ADMIN".to_string()])
    );
    // The filter finds a layer's row by its layer.
    app.update(Msg::Layer(Watch::Refused(Box::new(shadow_refusal()))));
    app.filter = "perms".into();
    assert_eq!(app.table_lines(), vec![TableLine::Layer(1)]);
}

/// `R`'s report has the run's other layers, as the headless one has: the
/// refusals with their layer and fix, or why they were not watched.
#[test]
fn the_report_names_the_other_layers_or_why_they_were_not_watched() {
    let mut app = app_with(PROFILE, config(None));
    app.update(Msg::Layer(Watch::Watching));
    app.update(Msg::Layer(refused("sethostname", 1 << 21)));
    app.update(Msg::Layer(refused("sethostname", 1 << 21)));
    let report = app.triage();
    assert_eq!(report.other_layers.len(), 1, "{:?}", report.other_layers);
    let row = &report.other_layers[0];
    assert_eq!((row.syscall.as_str(), row.hits), ("sethostname", 2));
    assert_eq!(row.layer, "capability: CAP_SYS_ADMIN");
    assert!(row.fix.contains("--cap-add SYS_ADMIN"), "{}", row.fix);
    let text = report.render();
    assert!(text.contains("\n## Other layers\n"), "{text}");
    assert!(text.contains("| `sethostname` | `EPERM` | 2 |"), "{text}");

    let mut app = app_with(PROFILE, config(None));
    app.update(Msg::Layer(Watch::NotWatched("--no-layers".into())));
    let text = app.triage().render();
    assert!(
        text.contains("## Other layers\n\nNot watched: --no-layers.\n"),
        "{text}"
    );
}
