;; The chunker's scan (chunker.ts `_scan`) in WebAssembly: the Gear hash `h = 2h + gear[byte]`
;; over bytes of the module's own memory until `h & mask` is 0. About 1.55x the speed of the
;; JavaScript loop on the benchmark's machine (no bounds checks; V8 compiles the shift-add to one
;; `lea`). gear-scan.ts reads files straight into this memory and calls `scan` once per mask;
;; `npm run wat` compiles this file into gear-scan-wasm.ts (test/wasm-modules.test.ts checks
;; that the two agree).
;;
;; Memory: the gear table (256 x i32) at 0, the hash left by a scan that found no cut at 1024,
;; the bytes to cut from 65536 on (the module grows as they need).
(module
  (memory (export "memory") 1)

  ;; Hashes bytes `i` to `stop - 1` from hash `h`. Returns the index after the first byte whose
  ;; hash has no bit of `mask` set, or -1 when there is none (the hash so far then lies at 1024).
  (func (export "scan") (param $i i32) (param $stop i32) (param $h i32) (param $mask i32)
    (result i32)
    (local $before i32) (local $hit i32)
    ;; 16 bytes a step with one test for all (as chunker.ts); a step that hits is hashed again
    ;; byte by byte from the hash before it, to find the exact byte.
    (block $bytes
      (loop $step
        (br_if $bytes (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $stop)))
        (local.set $before (local.get $h))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=0 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.eqz (i32.and (local.get $h) (local.get $mask))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=1 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=2 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=3 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=4 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=5 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=6 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=7 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=8 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=9 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=10 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=11 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=12 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=13 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=14 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=15 (local.get $i)) (i32.const 2)))))
        (local.set $hit (i32.or (local.get $hit) (i32.eqz (i32.and (local.get $h) (local.get $mask)))))
        (if (local.get $hit)
          (then
            (local.set $h (local.get $before))
            (br $bytes)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $step)))
    (block $none
      (loop $byte
        (br_if $none (i32.ge_u (local.get $i) (local.get $stop)))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u (local.get $i)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $h) (local.get $mask)))
          (then (return (local.get $i))))
        (br $byte)))
    (i32.store (i32.const 1024) (local.get $h))
    (i32.const -1)))
