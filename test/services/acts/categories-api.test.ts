import request from 'supertest';
import { act, actsHarness, type ActsHarness } from '../support';

let h: ActsHarness;
beforeEach(async () => {
  h = await actsHarness();
});
afterEach(async () => {
  await h.close();
});

const addCategory = (body: unknown) =>
  request(h.app)
    .post('/api/v1/categories')
    .send(body as object);

describe('categories', () => {
  test('GET is 204 with an empty body when no categories exist', async () => {
    const res = await request(h.app).get('/api/v1/categories');
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
  });

  test('POST ["name"] is 201 {}; GET lists names with act counts, 0 for an empty one, in creation order', async () => {
    await addCategory(['abc']).expect(201, '{}');
    await addCategory(['10']).expect(201, '{}');
    await addCategory(['__proto__']).expect(201, '{}');
    await request(h.app).post('/api/v1/acts').send(act()).expect(201);
    const res = await request(h.app).get('/api/v1/categories');
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"abc":1,"10":0,"__proto__":0}');
  });

  test('an existing name is 400; names are case-sensitive', async () => {
    await addCategory(['abc']).expect(201);
    await addCategory(['abc']).expect(400, '{}');
    await addCategory(['ABC']).expect(201, '{}');
  });

  test.each([
    ['a bare string', 'abc'],
    ['an object', { name: 'abc' }],
    ['an empty array', []],
    ['two names', ['a', 'b']],
    ['an empty name', ['']],
    ['a number', [5]],
    ['a name with /', ['a/b']],
    ['a huge name', ['n'.repeat(50_000)]],
  ])('POST with %s is 400 {} and creates nothing', async (_name, body) => {
    await addCategory(body).expect(400, '{}');
    await request(h.app).get('/api/v1/categories').expect(204);
  });

  test('DELETE removes the category and its acts', async () => {
    await addCategory(['abc']).expect(201);
    await addCategory(['other']).expect(201);
    await request(h.app).post('/api/v1/acts').send(act()).expect(201);
    await request(h.app)
      .post('/api/v1/acts')
      .send(act({ actId: 2, categoryName: 'other' }))
      .expect(201);
    await request(h.app).delete('/api/v1/categories/abc').expect(200, '{}');
    await request(h.app).get('/api/v1/categories').expect(200, '{"other":1}');
    await request(h.app).get('/api/v1/acts/count').expect(200, '[1]');
    // The deleted act's id is free again: nothing of it is left.
    await request(h.app)
      .post('/api/v1/acts')
      .send(act({ categoryName: 'other' }))
      .expect(201);
  });

  test('DELETE of no such category is 400 {}', async () => {
    await addCategory(['abc']).expect(201);
    await request(h.app).delete('/api/v1/categories/ABC').expect(400, '{}');
    await request(h.app).delete('/api/v1/categories/nope').expect(400, '{}');
  });

  test('size is [N], [0] when empty, 400 for no such category', async () => {
    await addCategory(['abc']).expect(201);
    await request(h.app).get('/api/v1/categories/abc/acts/size').expect(200, '[0]');
    await request(h.app).post('/api/v1/acts').send(act()).expect(201);
    await request(h.app).get('/api/v1/categories/abc/acts/size').expect(200, '[1]');
    await request(h.app).get('/api/v1/categories/nope/acts/size').expect(400, '{}');
  });

  test.each(['v1.0', '100%', 'a;b', 'x?y', 'acts', 'size', '#tag'])(
    'the name %j round-trips through a URL-encoded path',
    async (name) => {
      await addCategory([name]).expect(201);
      await request(h.app)
        .get(`/api/v1/categories/${encodeURIComponent(name)}/acts/size`)
        .expect(200, '[0]');
      await request(h.app)
        .get(`/api/v1/categories/${encodeURIComponent(name)}/acts`)
        .expect(204);
      await request(h.app)
        .delete(`/api/v1/categories/${encodeURIComponent(name)}`)
        .expect(200, '{}');
    },
  );

  test('a name with spaces and unicode works through URL-encoded paths', async () => {
    await addCategory(['café au lait 🐱']).expect(201);
    await request(h.app)
      .get(`/api/v1/categories/${encodeURIComponent('café au lait 🐱')}/acts/size`)
      .expect(200, '[0]');
    await request(h.app)
      .delete(`/api/v1/categories/${encodeURIComponent('café au lait 🐱')}`)
      .expect(200, '{}');
  });
});
