import { expect } from 'chai';
import { Readable } from 'node:stream';
import { digestSqlDump, rowTuples } from '../../../src/backup/sql-dump-digest.js';

const dump = (text: string) => digestSqlDump(Readable.from([text]));

describe('digestSqlDump (per-table digests of a mariadb-dump output)', function () {
  it('when values hide parentheses, semicolons and quotes in strings, then each row is still one tuple', function () {
    const tuples = rowTuples(String.raw`INSERT INTO ${'`t`'} VALUES (1,'a (b); c',NULL),(2,'it\'s \\',0x00FF),(3,'),(\');(',-1.5e3);`);
    expect(tuples).to.deep.equal([String.raw`(1,'a (b); c',NULL)`, String.raw`(2,'it\'s \\',0x00FF)`, String.raw`(3,'),(\');(',-1.5e3)`]);
  });

  it('when rows are on one line or one per line, then the digests are equal', async function () {
    const oneLine = "CREATE TABLE `users` (\n  `id` int\n);\nINSERT INTO `users` VALUES (1,'ann'),(2,'bob');\n";
    const perLine = "CREATE TABLE `users` (\n  `id` int\n);\nINSERT INTO `users` VALUES\n(1,'ann'),\n(2,'bob');\n";
    const split = "INSERT INTO `users` VALUES (1,'ann');\nINSERT INTO `users` VALUES (2,'bob');\n";
    const a = await dump(oneLine);
    expect(a.users?.rows).to.equal(2);
    expect(await dump(perLine)).to.deep.equal(a);
    expect(await dump(split)).to.deep.equal(a);
  });

  it('when one value differs, then the checksum differs but the count does not', async function () {
    const a = await dump("INSERT INTO `users` VALUES (1,'ann'),(2,'bob');\n");
    const b = await dump("INSERT INTO `users` VALUES (1,'ann'),(2,'bo b');\n");
    expect(b.users?.rows).to.equal(a.users?.rows);
    expect(b.users?.sha256).to.not.equal(a.users?.sha256);
  });

  it('when a table has no rows, then it is listed with 0 rows; statements after it belong to their own table', async function () {
    const digests = await dump("CREATE TABLE `empty` (\n `id` int\n);\nINSERT INTO `a``b` VALUES\n(1);\n-- INSERT INTO `x` VALUES (9);\nINSERT INTO `c` VALUES (2),(3);\n");
    expect(Object.keys(digests)).to.deep.equal(['a`b', 'c', 'empty']);
    expect([digests['a`b']?.rows, digests.c?.rows, digests.empty?.rows]).to.deep.equal([1, 2, 0]);
  });
});
