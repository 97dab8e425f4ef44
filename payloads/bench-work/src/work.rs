//! The benchmark's workloads, one source for every runtime: this file is the capsule's code and,
//! included with `#[path]`, the native baseline in `crates/trevm-bench`.

/// Numbers the sort works on at most.
pub const MAX_SORT: usize = 4096;

/// `fib(0) = 0`, `fib(1) = 1`, `fib(n) = fib(n - 1) + fib(n - 2)`, wrapping.
pub fn fib(n: u32) -> u32 {
    if n < 2 {
        n
    } else {
        fib(n - 1).wrapping_add(fib(n - 2))
    }
}

/// xorshift32: the pseudo-random numbers both workloads are fed.
fn next(state: &mut u32) -> u32 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    x
}

/// Fills `buf[..n]` from `seed`, heapsorts it and returns a checksum of the sorted order.
pub fn heapsort(buf: &mut [u32; MAX_SORT], n: u32, seed: u32) -> u32 {
    let n = (n as usize).min(MAX_SORT);
    let v = &mut buf[..n];
    let mut state = seed | 1;
    for x in v.iter_mut() {
        *x = next(&mut state);
    }
    for start in (0..n / 2).rev() {
        sift_down(v, start, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
    v.iter().enumerate().fold(0u32, |acc, (i, x)| {
        acc.rotate_left(5) ^ x.wrapping_add(i as u32)
    })
}

fn sift_down(v: &mut [u32], mut root: usize, end: usize) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && v[child] < v[child + 1] {
            child += 1;
        }
        if v[root] >= v[child] {
            return;
        }
        v.swap(root, child);
        root = child;
    }
}

/// SHA-256 (the `sha2` crate) of `n` bytes made from `seed`, fed in 64-byte pieces; the first
/// four bytes of the digest.
pub fn sha256(n: u32, seed: u32) -> u32 {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut state = seed | 1;
    let mut block = [0u8; 64];
    let mut left = n as usize;
    while left > 0 {
        let take = left.min(block.len());
        for chunk in block[..take].chunks_mut(4) {
            let r = next(&mut state).to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        hasher.update(&block[..take]);
        left -= take;
    }
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}
