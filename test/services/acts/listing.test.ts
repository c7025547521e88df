import { decideListing } from '../../../services/acts/listing';

describe('decideListing (in the contract order)', () => {
  test.each([
    [undefined, '1', '5', 400],
    [undefined, undefined, undefined, 400],
    [0, undefined, undefined, 204],
    [0, 'x', undefined, 204],
    [105, undefined, undefined, 413],
    [100, undefined, undefined, 200],
    [1, undefined, undefined, 200],
    [105, '1', undefined, 400],
    [105, undefined, '5', 400],
    [105, 'a', '5', 400],
    [105, '1', '5.0', 400],
    [105, ['1', '2'], '5', 400],
    [105, '0', '5', 400],
    [105, '6', '5', 400],
    [105, '1', '106', 400],
    [105, '200', '300', 400],
    [105, '1', '105', 413],
    [105, '1', '101', 413],
    [105, '1', '100', 200],
    [105, '105', '105', 200],
  ])('count %p, start %p, end %p → %i', (count, start, end, status) => {
    expect(decideListing(count, start, end).status).toBe(status);
  });

  test('positions become offset and limit, 1 = newest', () => {
    expect(decideListing(105, '1', '5')).toEqual({ status: 200, offset: 0, limit: 5 });
    expect(decideListing(105, '101', '105')).toEqual({ status: 200, offset: 100, limit: 5 });
    expect(decideListing(7, undefined, undefined)).toEqual({ status: 200, offset: 0, limit: 7 });
  });
});
