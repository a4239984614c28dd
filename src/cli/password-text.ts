/**
 * The password a password file holds: its text without the trailing line break that
 * `echo secret > file` adds, which is not part of the password.
 */
export function passwordOfFileText(text: string): string {
  return text.replace(/(\r?\n)+$/, '');
}
