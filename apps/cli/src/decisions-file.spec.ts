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
});
