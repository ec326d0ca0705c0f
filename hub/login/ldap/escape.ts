// Escaping of user input put into LDAP filters and DNs, so a user name can never change the
// query: "*" would match everyone, ")(uid=*" would add a clause, a NUL would end the string.

/** RFC 4515 section 3: "*", "(", ")", "\" and NUL become \2a \28 \29 \5c \00 in a filter value. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (c) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/**
 * RFC 4514 section 2.4: an attribute value in a DN. `"+,;<>\` are backslash-escaped anywhere,
 * "#" and " " at the start and " " at the end too; NUL becomes \00.
 */
export function escapeDnValue(value: string): string {
  let out = value.replace(/["+,;<>\\]/g, (c) => '\\' + c).replace(/\0/g, '\\00');
  if (out.startsWith('#') || out.startsWith(' ')) out = '\\' + out;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = out.slice(0, -1) + '\\ ';
  return out;
}

/**
 * Login names we accept at all: printable, no control characters (NUL, newline...), at most 256
 * characters. Anything else is refused before it reaches a directory.
 */
export function isAcceptableLoginName(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return name.length > 0 && name.length <= 256 && !/[\u0000-\u001f\u007f]/.test(name) && name.trim() === name;
}
