//! Keeps plaintext out of core dumps while secrets are in memory.

/// Disables core dumps for this process (RLIMIT_CORE 0) and marks it
/// non-dumpable, which also stops other processes of the same user from
/// attaching with ptrace or reading its memory through /proc. Best effort: a
/// failure here leaves the process as it was, which is no worse than before.
/// Children get a fresh dumpable flag on exec; the zero core limit they inherit.
pub fn harden_process() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls with valid arguments; they touch no Rust memory.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harden_sets_core_limit_zero_and_not_dumpable() {
        harden_process();
        let mut lim = libc::rlimit {
            rlim_cur: 1,
            rlim_max: 1,
        };
        // SAFETY: valid out-pointer.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut lim) };
        assert_eq!(rc, 0);
        assert_eq!((lim.rlim_cur, lim.rlim_max), (0, 0));
        // SAFETY: no arguments beyond the option.
        let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
        assert_eq!(dumpable, 0);
    }
}
