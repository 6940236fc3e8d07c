// URLs as Go's net/url parses them (Go 1.26, which the API server is built with): the CRD's `format: uri`
// and `url()` rule on spec.backendUrl, repeated so the webhook answers as the API server would.

/** True when `url` is valid for the CRD: `format: uri` and its `isURL`/`url()` rule, as Go parses URLs. */
export function isHttpUrl(url: string): boolean {
  const parsed = parseRequestUri(url);
  if (!parsed || (parsed.scheme !== 'http' && parsed.scheme !== 'https')) return false;
  // The rule's url() parses again with url.Parse, which also unescapes the fragment.
  const hash = url.indexOf('#');
  if (hash >= 0 && !escapesValid(url.slice(hash + 1))) return false;
  return hostname(parsed.host) !== '';
}

interface ParsedUri {
  scheme: string;
  /** Host and port as written, brackets kept, escapes undone; empty without an authority. */
  host: string;
}

/** `url.ParseRequestURI`: an absolute URI or an absolute path; undefined where Go returns an error. */
function parseRequestUri(raw: string): ParsedUri | undefined {
  // eslint-disable-next-line no-control-regex
  if (raw === '' || /[\u0000-\u001f\u007f]/.test(raw)) return undefined;
  if (raw === '*') return { scheme: '', host: '' };
  const split = splitScheme(raw);
  if (!split) return undefined;
  const scheme = split.scheme.toLowerCase();
  let rest = split.rest;
  if (rest.endsWith('?') && rest.indexOf('?') === rest.length - 1) rest = rest.slice(0, -1);
  else if (rest.includes('?')) rest = rest.slice(0, rest.indexOf('?'));
  if (!rest.startsWith('/')) return scheme !== '' ? { scheme, host: '' } : undefined; // opaque
  let host = '';
  if (scheme !== '' && rest.startsWith('//')) {
    let authority = rest.slice(2);
    rest = '';
    const slash = authority.indexOf('/');
    if (slash >= 0) {
      rest = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    const parsedHost = parseAuthority(scheme, authority);
    if (parsedHost === undefined) return undefined;
    host = parsedHost;
  }
  return escapesValid(rest) ? { scheme, host } : undefined;
}

/** Go's getScheme: `[a-zA-Z][a-zA-Z0-9+.-]*:`; undefined for a leading colon (an error in Go). */
function splitScheme(raw: string): { scheme: string; rest: string } | undefined {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[a-zA-Z]/.test(c)) continue;
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) return { scheme: '', rest: raw };
      continue;
    }
    if (c === ':') return i === 0 ? undefined : { scheme: raw.slice(0, i), rest: raw.slice(i + 1) };
    return { scheme: '', rest: raw };
  }
  return { scheme: '', rest: raw };
}

function parseAuthority(scheme: string, authority: string): string | undefined {
  const at = authority.lastIndexOf('@');
  const host = parseHost(scheme, at < 0 ? authority : authority.slice(at + 1));
  if (host === undefined) return undefined;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo) || !escapesValid(userinfo)) return undefined;
  }
  return host;
}

function parseHost(scheme: string, host: string): string | undefined {
  const open = host.lastIndexOf('[');
  if (open > 0) return undefined;
  if (open === 0) {
    const close = host.lastIndexOf(']');
    if (close < 0) return undefined;
    const colonPort = host.slice(close + 1);
    if (!validOptionalPort(colonPort)) return undefined;
    const literal = host.slice(1, close);
    const zone = literal.indexOf('%25');
    const address =
      zone >= 0
        ? join(unescapeHost(literal.slice(0, zone), false), unescapeHost(literal.slice(zone), true))
        : unescapeHost(literal, false);
    if (address === undefined || !isIpv6(address)) return undefined;
    return `[${address}]${colonPort}`;
  }
  const colon = host.indexOf(':');
  if (colon !== -1) {
    // Go 1.26 allows a second colon in the host for other schemes only (urlstrictcolons).
    const at = scheme === 'http' || scheme === 'https' ? colon : host.lastIndexOf(':');
    if (!validOptionalPort(host.slice(at))) return undefined;
  }
  return unescapeHost(host, false);
}

function join(a: string | undefined, b: string | undefined): string | undefined {
  return a === undefined || b === undefined ? undefined : a + b;
}

/** Go's `URL.Hostname()`: the host without a valid port and without IPv6 brackets. */
function hostname(host: string): string {
  let name = host;
  const colon = name.lastIndexOf(':');
  if (colon !== -1 && validOptionalPort(name.slice(colon))) name = name.slice(0, colon);
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  return name;
}

function validOptionalPort(port: string): boolean {
  return port === '' || /^:[0-9]*$/.test(port);
}

const HEX = /^[0-9a-fA-F]$/;

/** Every `%` starts a two-digit hex escape (Go's unescape in path, query, fragment and userinfo). */
function escapesValid(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '%') continue;
    if (i + 2 >= text.length || !HEX.test(text[i + 1]!) || !HEX.test(text[i + 2]!)) return false;
    i += 2;
  }
  return true;
}

/** Host bytes Go leaves unescaped: letters, digits and `-_.~!$&'()*+,;=:[]<>"`; non-ASCII passes. */
function hostCharAllowed(code: number): boolean {
  return code >= 0x80 || /[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]/.test(String.fromCharCode(code));
}

/** Go's unescape in host (or IPv6 zone) mode; undefined where Go returns an error. */
function unescapeHost(text: string, zone: boolean): string | undefined {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '%') {
      if (!hostCharAllowed(c.charCodeAt(0))) return undefined;
      out += c;
      continue;
    }
    if (i + 2 >= text.length || !HEX.test(text[i + 1]!) || !HEX.test(text[i + 2]!)) return undefined;
    const escape = text.slice(i, i + 3);
    const byte = parseInt(text.slice(i + 1, i + 3), 16);
    // In a host, %-escapes may only stand for non-ASCII bytes (and %25 for the zone's percent sign).
    if (!zone && byte < 0x80 && escape !== '%25') return undefined;
    if (zone && escape !== '%25' && byte !== 0x20 && (byte >= 0x80 || !hostCharAllowed(byte)))
      return undefined;
    out += String.fromCharCode(byte);
    i += 2;
  }
  return out;
}

/** netip.ParseAddr succeeds with an IPv6 address (an optional non-empty `%zone` included). */
function isIpv6(text: string): boolean {
  const first = /[.:%]/.exec(text)?.[0];
  if (first !== ':') return false;
  let s = text;
  const percent = s.indexOf('%');
  if (percent !== -1) {
    if (percent === s.length - 1) return false;
    s = s.slice(0, percent);
  }
  let ellipsis = -1;
  if (s.startsWith('::')) {
    ellipsis = 0;
    s = s.slice(2);
    if (s === '') return true;
  }
  let i = 0;
  while (i < 16) {
    let off = 0;
    let value = 0;
    for (; off < s.length; off++) {
      if (!HEX.test(s[off]!)) break;
      value = value * 16 + parseInt(s[off]!, 16);
      if (off > 3 || value > 0xffff) return false;
    }
    if (off === 0) return false;
    if (s[off] === '.') {
      if ((ellipsis < 0 && i !== 12) || i + 4 > 16 || !isIpv4(s)) return false;
      s = '';
      i += 4;
      break;
    }
    i += 2;
    s = s.slice(off);
    if (s === '') break;
    if (s[0] !== ':' || s.length === 1) return false;
    s = s.slice(1);
    if (s[0] === ':') {
      if (ellipsis >= 0) return false;
      ellipsis = i;
      s = s.slice(1);
      if (s === '') break;
    }
  }
  if (s !== '') return false;
  return i < 16 ? ellipsis >= 0 : ellipsis < 0;
}

/** Four dotted decimal octets, no leading zeros, each at most 255 (netip's parseIPv4Fields). */
function isIpv4(text: string): boolean {
  const fields = text.split('.');
  return fields.length === 4 && fields.every((f) => /^(0|[1-9][0-9]{0,2})$/.test(f) && Number(f) <= 255);
}
