//! The other layers in the App: a refusal joined with the profile's row of the
//! same syscall, what `a` says then, and what a run that does not watch says.

use super::testing::{app_with, config, event, press, PROFILE};
use super::Msg;
use crate::layer::{Failure, Layer, Profile};
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
