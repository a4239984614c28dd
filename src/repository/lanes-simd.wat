;; The byte lanes' 4x4 transposition (byte-lanes.ts) in WebAssembly SIMD: 64 bytes of a blob, 16
;; from each lane, per step, each lane byte moved by shuffles of 16-byte vectors. lanes-simd.ts
;; copies blocks in and out of this module's memory; `npm run wat` compiles this file into
;; lanes-simd-wasm.ts (test/wasm-modules.test.ts checks that the two agree).
;;
;; Memory: two pages. The lanes lie at 0, n, 2n and 3n; the blob's 4n bytes at 65536. `n` (bytes
;; per lane) is a multiple of 16 and at most 16384.
(module
  (memory (export "memory") 2)

  ;; The blob's bytes 4i + k go to byte i of lane k.
  (func (export "split") (param $n i32)
    (local $i i32) (local $at i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $p0 v128) (local $p1 v128) (local $q0 v128) (local $q1 v128)
    (local.set $at (i32.const 65536))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x0 (v128.load (local.get $at)))
        (local.set $x1 (v128.load offset=16 (local.get $at)))
        (local.set $x2 (v128.load offset=32 (local.get $at)))
        (local.set $x3 (v128.load offset=48 (local.get $at)))
        ;; Lanes 0 and 1 (p0, q0: eight bytes of each) and lanes 2 and 3 (p1, q1) of 32 bytes.
        (local.set $p0 (i8x16.shuffle 0 4 8 12 16 20 24 28 1 5 9 13 17 21 25 29
          (local.get $x0) (local.get $x1)))
        (local.set $p1 (i8x16.shuffle 2 6 10 14 18 22 26 30 3 7 11 15 19 23 27 31
          (local.get $x0) (local.get $x1)))
        (local.set $q0 (i8x16.shuffle 0 4 8 12 16 20 24 28 1 5 9 13 17 21 25 29
          (local.get $x2) (local.get $x3)))
        (local.set $q1 (i8x16.shuffle 2 6 10 14 18 22 26 30 3 7 11 15 19 23 27 31
          (local.get $x2) (local.get $x3)))
        (v128.store (local.get $i)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $p0) (local.get $q0)))
        (v128.store (i32.add (local.get $i) (local.get $n))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $p0) (local.get $q0)))
        (v128.store (i32.add (local.get $i) (i32.shl (local.get $n) (i32.const 1)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $p1) (local.get $q1)))
        (v128.store (i32.add (local.get $i) (i32.mul (local.get $n) (i32.const 3)))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $p1) (local.get $q1)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (local.set $at (i32.add (local.get $at) (i32.const 64)))
        (br $step))))

  ;; Byte i of lane k goes to the blob's byte 4i + k.
  (func (export "join") (param $n i32)
    (local $i i32) (local $at i32)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local $ab v128) (local $cd v128)
    (local.set $at (i32.const 65536))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a (v128.load (local.get $i)))
        (local.set $b (v128.load (i32.add (local.get $i) (local.get $n))))
        (local.set $c (v128.load (i32.add (local.get $i) (i32.shl (local.get $n) (i32.const 1)))))
        (local.set $d (v128.load (i32.add (local.get $i) (i32.mul (local.get $n) (i32.const 3)))))
        ;; Lanes 0 and 1 interleaved byte by byte (ab), lanes 2 and 3 (cd), then the two pairs by
        ;; 16-bit halves: the first 8 bytes of each lane make the blob's first 32 bytes.
        (local.set $ab (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23
          (local.get $a) (local.get $b)))
        (local.set $cd (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23
          (local.get $c) (local.get $d)))
        (v128.store (local.get $at)
          (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $ab) (local.get $cd)))
        (v128.store offset=16 (local.get $at)
          (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $ab) (local.get $cd)))
        (local.set $ab (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31
          (local.get $a) (local.get $b)))
        (local.set $cd (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31
          (local.get $c) (local.get $d)))
        (v128.store offset=32 (local.get $at)
          (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $ab) (local.get $cd)))
        (v128.store offset=48 (local.get $at)
          (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $ab) (local.get $cd)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (local.set $at (i32.add (local.get $at) (i32.const 64)))
        (br $step)))))
