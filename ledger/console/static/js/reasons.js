// A check's reason as a sentence a person reads, in the console's language.
// The API gives each reason a ``kind`` and its parameters (seq, period, amount,
// legal basis); this module is the one place that turns them into words, for
// the single check, the award round and the supervision pages alike.
// (First version: the server's message; the Chinese rendering replaces it.)

/** The reason ``r`` (an Eligibility reason from the API) as display text. */
export function reasonText(r) {
  return r.message;
}
