// Verses of the bundled King James Bible by book, and a labelled train/test split of them, for the
// examples that learn which book a verse is from (classify-verses.mjs, book-generator.mjs).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** The verses of each of `books`, in corpus order: a heading "Book N" starts each chapter, then one verse per line. */
export function versesOf(books) {
  const corpus = gunzipSync(readFileSync(new URL('../../corpus/kjv.txt.gz', import.meta.url))).toString('utf8');
  const verses = books.map(() => []);
  let book = -1;
  for (const line of corpus.split('\n')) {
    const heading = /^([1-3]? ?[A-Z][A-Za-z ]+) \d+$/.exec(line);
    if (heading) book = books.indexOf(heading[1]);
    else if (book >= 0 && line.length > 0) verses[book].push(line);
  }
  return verses;
}

/**
 * `perBook` verses of each book as { text, label } (label: the book's index), shuffled with
 * `shuffle` (in place), the first `testFraction` of them held out for testing.
 */
export function labelledSplit(verses, perBook, shuffle, testFraction = 0.2) {
  const examples = [];
  verses.forEach((list, label) => {
    shuffle(list);
    for (const text of list.slice(0, perBook)) examples.push({ text, label });
  });
  shuffle(examples);
  const nTest = Math.floor(examples.length * testFraction);
  return { examples, test: examples.slice(0, nTest), train: examples.slice(nTest) };
}
