//! eperm as a runtime's seccomp agent: runc (≥ 1.1) installs the container's
//! filter, then connects to the profile's `listenerPath` and sends the listener
//! fd (SCM_RIGHTS) with the container's state as JSON. From then on the listener
//! is served like a local workload's (see [`crate::run::notify`]).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// The socket runc connects to; removed when dropped.
pub struct Agent {
    socket: UnixListener,
    path: PathBuf,
}

/// What runc hands over for one container process.
#[derive(Debug)]
pub struct Handoff {
    pub listener: OwnedFd,
    /// The container's init process, in eperm's pid namespace.
    pub pid: u32,
    /// The container's id (runc's name for it), as whoever connected said: shown escaped.
    pub id: crate::untrusted::Untrusted,
    /// `listenerMetadata`, as the profile gave it.
    pub metadata: String,
}

impl Agent {
    pub fn bind(path: &Path) -> io::Result<Agent> {
        let _ = std::fs::remove_file(path);
        let socket = UnixListener::bind(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Ok(Agent {
            socket,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the next handoff; `None` once `stop` becomes readable.
    pub fn accept(&self, stop: BorrowedFd<'_>) -> io::Result<Option<Handoff>> {
        loop {
            let ready = crate::sources::wait::wait(self.socket.as_raw_fd(), stop, -1)?;
            if ready.stop {
                return Ok(None);
            }
            if ready.data {
                let (conn, _) = self.socket.accept()?;
                // A runtime that never finishes its message must not hang eperm.
                conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
                return receive(&conn).map(Some);
            }
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The container process state runc sends (runtime-spec `ContainerProcessState`).
#[derive(serde::Deserialize)]
struct ProcessState {
    #[serde(default)]
    fds: Vec<String>,
    pid: u32,
    #[serde(default)]
    metadata: String,
    state: ContainerState,
}

#[derive(serde::Deserialize)]
struct ContainerState {
    id: String,
}

/// Reads one handoff: the JSON to its end, and the fds that came with it. runc
/// may keep the connection open (`runc run` never closes it): the message ends
/// where the JSON does, not at EOF.
fn receive(conn: &UnixStream) -> io::Result<Handoff> {
    let bad = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
    let mut json = Vec::new();
    let mut fds = Vec::new();
    let state: ProcessState = loop {
        let mut buf = [0u8; 4096];
        let n = recv_with_fds(conn.as_raw_fd(), &mut buf, &mut fds)?;
        json.extend_from_slice(&buf[..n]);
        match serde_json::from_slice(&json) {
            Ok(state) => break state,
            Err(e) if e.is_eof() && n > 0 => continue,
            Err(e) => {
                return Err(bad(format!(
                    "the runtime's container state is not what runc sends: {e}"
                )))
            }
        }
    };
    let at = state
        .fds
        .iter()
        .position(|name| name == "seccompFd")
        .ok_or_else(|| bad("the runtime sent no seccompFd".into()))?;
    if fds.len() <= at {
        return Err(bad(format!(
            "the runtime named {} fds but sent {}",
            state.fds.len(),
            fds.len()
        )));
    }
    let listener = fds.swap_remove(at);
    Ok(Handoff {
        listener,
        pid: state.pid,
        id: state.state.id.into(),
        metadata: state.metadata,
    })
}

/// One recvmsg: data into `buf`, any SCM_RIGHTS fds appended to `fds` (close-on-exec).
fn recv_with_fds(sock: RawFd, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    // Room for 16 fds; runc sends one.
    let mut control = [0u64; 16];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: zeroed msghdr is valid; the pointers set below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    let n = loop {
        // SAFETY: msg describes buffers we own.
        let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    };
    // SAFETY: walking the control messages the kernel just wrote into `control`.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                let bytes = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                for i in 0..bytes / std::mem::size_of::<RawFd>() {
                    fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;

    /// Sends `json` and `fd` the way `runc run` does: one sendmsg, and the
    /// connection stays open (returned).
    fn send_like_runc(path: &Path, json: &str, fd: RawFd) -> UnixStream {
        let conn = UnixStream::connect(path).unwrap();
        let mut iov = libc::iovec {
            iov_base: json.as_ptr() as *mut _,
            iov_len: json.len(),
        };
        let mut control = [0u64; 4];
        // SAFETY: building a msghdr over local buffers for one sendmsg.
        unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(4) as usize;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(4) as usize;
            libc::CMSG_DATA(cmsg).cast::<RawFd>().write_unaligned(fd);
            assert_eq!(
                libc::sendmsg(conn.as_raw_fd(), &msg, 0),
                json.len() as isize
            );
        }
        conn
    }

    #[test]
    fn takes_the_listener_and_the_state_runc_sends() {
        let dir = tempfile::tempdir().unwrap();
        let agent = Agent::bind(&dir.path().join("agent.sock")).unwrap();
        // Any fd stands in for the listener: a pipe whose far end we can check.
        let (read, write) = nix::unistd::pipe().unwrap();
        let json = r#"{"ociVersion":"1.0.2","fds":["seccompFd"],"pid":4242,"metadata":"m",
            "state":{"ociVersion":"1.0.2","id":"ctr1","status":"creating","pid":4242,"bundle":"/b"}}"#;
        let path = agent.path().to_path_buf();
        let sender = std::thread::spawn(move || send_like_runc(&path, json, read.as_raw_fd()));
        let (stop, _stop_write) = nix::unistd::pipe().unwrap();
        let handoff = agent.accept(stop.as_fd()).unwrap().expect("a handoff");
        let _still_open = sender.join().unwrap();
        assert_eq!(handoff.pid, 4242);
        assert_eq!(handoff.id, "ctr1");
        assert_eq!(handoff.metadata, "m");
        // The fd we got is the pipe's read end: what is written arrives there.
        std::fs::File::from(write).write_all(b"x").unwrap();
        let mut byte = [0u8; 1];
        assert_eq!(nix::unistd::read(&handoff.listener, &mut byte).unwrap(), 1);
    }

    #[test]
    fn stops_waiting_when_told() {
        let dir = tempfile::tempdir().unwrap();
        let agent = Agent::bind(&dir.path().join("agent.sock")).unwrap();
        let (stop_read, stop_write) = nix::unistd::pipe().unwrap();
        drop(stop_write);
        assert!(agent.accept(stop_read.as_fd()).unwrap().is_none());
    }
}
