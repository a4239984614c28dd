import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clrStateQuery, parseClrState } from './post-restore.ts';

void test('the CLR query reads the restored database by its quoted name', () => {
  const sql = clrStateQuery("Copy]'x");
  assert.match(sql, /FROM \[Copy\]\]'x\]\.sys\.assemblies WHERE is_user_defined = 1/);
  assert.match(sql, /WHERE name = N'Copy\]''x';/);
});

void test('an UNSAFE assembly after a restore resets TRUSTWORTHY is reported, a SAFE one is not', () => {
  const state = parseClrState([
    [
      { name: 'Geometry', permission_set_desc: 'UNSAFE_ACCESS' },
      { name: 'Util', permission_set_desc: 'SAFE_ACCESS' },
    ],
    [{ is_trustworthy_on: false }],
    [{ clr_enabled: 1 }],
  ]);
  assert.equal(state.assemblies.length, 2);
  assert.deepEqual(state.problems, [
    'TRUSTWORTHY is OFF after the restore; Geometry (UNSAFE_ACCESS) need it ON, a signature, or sys.sp_add_trusted_assembly',
  ]);
  const safeOnly = parseClrState([
    [{ name: 'Util', permission_set_desc: 'SAFE_ACCESS' }],
    [{ is_trustworthy_on: false }],
    [{ clr_enabled: 0 }],
  ]);
  assert.deepEqual(safeOnly.problems, ["the server has 'clr enabled' = 0: no CLR code runs"]);
  assert.deepEqual(parseClrState([[], [], []]).problems, []);
});
