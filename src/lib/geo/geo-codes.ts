// What a policy may name in geography rules: ISO 3166-1 alpha-2 country codes (the officially assigned
// ones, plus XK, which MaxMind's databases use for Kosovo) and autonomous system numbers. Both as zod
// schemas that normalise what they accept ("cn" → "CN", "AS64496" → 64496) and name what they refuse.

import { z } from 'zod';

/** The 249 officially assigned ISO 3166-1 alpha-2 codes, and XK. */
const CODES =
  'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW ' +
  'BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI ' +
  'FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN ' +
  'IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME ' +
  'MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF ' +
  'PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV ' +
  'SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE ' +
  'YT ZA ZM ZW XK';

export const COUNTRY_CODES: ReadonlySet<string> = new Set(CODES.split(' '));

/** Codes people write for a country whose ISO code differs. */
const MISTAKES: Readonly<Record<string, string>> = Object.assign(Object.create(null) as object, {
  UK: 'GB',
  EL: 'GR',
});

/** The largest 32-bit ASN is reserved (RFC 7300); 0 is reserved too (RFC 7607). */
export const MAX_ASN = 4_294_967_294;

/** Why `code` is not a country code a rule can name, or undefined when it is one. */
export function countryCodeProblem(code: string): string | undefined {
  const upper = code.toUpperCase();
  if (COUNTRY_CODES.has(upper)) return undefined;
  const hint = MISTAKES[upper];
  return hint !== undefined
    ? `${JSON.stringify(code)} is not an ISO 3166-1 alpha-2 code; did you mean "${hint}"?`
    : `${JSON.stringify(code)} is not an ISO 3166-1 alpha-2 country code (two letters, e.g. "CN", "RU")`;
}

/** The ASN `value` names (64496, "64496" or "AS64496"), or a problem. */
export function parseAsn(value: number | string): number | string {
  const text = typeof value === 'number' ? String(value) : value.trim().replace(/^AS/i, '');
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isInteger(n) && n >= 1 && n <= MAX_ASN) return n;
  return `${JSON.stringify(value)} is not an autonomous system number (a whole number from 1 to ${MAX_ASN}, e.g. 64496 or "AS64496")`;
}

/** A country code, upper-cased. */
export const countryCodeSchema = z.string().transform((code, ctx) => {
  const problem = countryCodeProblem(code);
  if (problem === undefined) return code.toUpperCase();
  ctx.addIssue({ code: 'custom', message: problem });
  return z.NEVER;
});

/** An ASN, as a number. */
export const asnSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const asn = parseAsn(value);
  if (typeof asn === 'number') return asn;
  ctx.addIssue({ code: 'custom', message: asn });
  return z.NEVER;
});

export const countryListSchema = z.array(countryCodeSchema);
export const asnListSchema = z.array(asnSchema);
