// The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters
// from 0-9 and A-Z without I, O, Z, S, V; the last is a check character over
// the first 17 (weights 3^i mod 31). The server checks the same (signaling/uscc.py).

export const ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

export function normalise(code) {
  return String(code || "").replace(/\s+/g, "").toUpperCase();
}

export function checkCharacter(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += ALPHABET.indexOf(first17[i]) * WEIGHTS[i];
  return ALPHABET[(31 - (sum % 31)) % 31];
}

/** "" when valid, otherwise the reason: "length", "chars", "region" or "check". */
export function problem(code) {
  const c = normalise(code);
  if (c.length !== 18) return "length";
  for (const ch of c) if (!ALPHABET.includes(ch)) return "chars";
  if (!/^\d{6}$/.test(c.slice(2, 8))) return "region";
  return checkCharacter(c.slice(0, 17)) === c[17] ? "" : "check";
}

export function isValid(code) {
  return problem(code) === "";
}
