import { formatOf, parseDecisionsFile } from './decisions-file';

describe('parseDecisionsFile', () => {
  it('reads csv with any of the columns, in any order, quoted cells included', () => {
    const text = 'duration,scope,value,reason\n24h,ip,1.2.3.4,\n,range,"5.6.7.0/24","say ""hi"", ok"\r\n\n';
    expect(parseDecisionsFile(text, 'csv')).toEqual([
      { duration: '24h', scope: 'ip', value: '1.2.3.4' },
      { scope: 'range', value: '5.6.7.0/24', reason: 'say "hi", ok' },
    ]);
  });

  it('refuses a csv header without value or with unknown columns', () => {
    expect(() => parseDecisionsFile('ip\n1.2.3.4', 'csv')).toThrow('must name value');
    expect(() => parseDecisionsFile('value,colour\n1.2.3.4,red', 'csv')).toThrow('got: value,colour');
  });

  it('reads json arrays as cscli documents them', () => {
    const text = JSON.stringify([{ duration: '4h', scope: 'ip', type: 'ban', value: '1.2.3.4' }, { value: '::1' }]);
    expect(parseDecisionsFile(text, 'json')).toEqual([
      { duration: '4h', scope: 'ip', type: 'ban', value: '1.2.3.4' },
      { value: '::1' },
    ]);
    expect(() => parseDecisionsFile('{"value":"1.2.3.4"}', 'json')).toThrow('array');
    expect(() => parseDecisionsFile('[1]', 'json')).toThrow('item 1: not an object');
  });

  it('reads a plain blocklist, one value per line, comments skipped', () => {
    expect(parseDecisionsFile('# list\n1.2.3.4\n 10.0.0.0/8 \n', 'values')).toEqual([
      { value: '1.2.3.4' },
      { value: '10.0.0.0/8' },
    ]);
  });

  it('guesses the format from the file name unless told', () => {
    expect(formatOf('a.csv')).toBe('csv');
    expect(formatOf('a.json')).toBe('json');
    expect(formatOf('list.txt')).toBe('values');
    expect(formatOf('a.csv', 'json')).toBe('json');
  });

  it('tells a text without a name (stdin) by its content: json array, csv header of known columns, else values', () => {
    expect(formatOf('-', undefined, ' [{"value":"1.2.3.4"}]')).toBe('json');
    expect(formatOf('-', undefined, '# comment\n\nduration,Value\n4h,1.2.3.4\n')).toBe('csv');
    expect(formatOf('-', undefined, 'value\n1.2.3.4\n')).toBe('csv');
    expect(formatOf('-', undefined, '1.2.3.4\n10.0.0.0/8\n')).toBe('values');
    // A first line naming an unknown column is not a header: read as values (and refused there, not guessed).
    expect(formatOf('-', undefined, 'value,colour\n1.2.3.4,red\n')).toBe('values');
    expect(formatOf('-', undefined, '')).toBe('values');
    expect(formatOf('-', 'csv', '1.2.3.4\n')).toBe('csv');
  });
});
