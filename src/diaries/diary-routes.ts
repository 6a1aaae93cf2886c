import { defineRoute, type RouteSpec } from '../http/route.js';
import { diaryBodySchemas, diaryIdParams, diaryListSchema, diarySchema, listDiariesQuery } from './diary-schemas.js';
import type { DiaryService, DiaryWithAnalysis } from './diary-service.js';

const toResponse = ({ userId: _userId, statusRevision: _sr, analysisUpdatedAt: _au, ...diary }: DiaryWithAnalysis) => diary;

export function diaryRoutes(diaries: DiaryService, options: { contentMaxChars: number }): RouteSpec[] {
  const bodies = diaryBodySchemas(options.contentMaxChars);
  return [
    defineRoute({
      method: 'post',
      path: '/diaries',
      operationId: 'createDiary',
      summary: 'Write a diary entry; its analysis is requested in the same transaction',
      tags: ['diaries'],
      access: 'user',
      body: bodies.create,
      responses: { 201: diarySchema },
      handler: async ({ principal, body, meta }) => {
        const diary = await diaries.create(principal!.userId, body, meta.requestId);
        return { status: 201, body: toResponse(diary), headers: { Location: `/api/v1/diaries/${diary.id}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/diaries',
      operationId: 'listDiaries',
      summary: 'List own entries, newest first (cursor pagination, date range, emotion and analysis filters, text search)',
      tags: ['diaries'],
      access: 'user',
      query: listDiariesQuery,
      responses: { 200: diaryListSchema },
      handler: async ({ principal, query }) => {
        const { limit, cursor, emotion, analysisStatus, q, from, to } = query;
        const page = await diaries.list(principal!.userId, { from, to, emotionStatus: emotion, analysisStatus, text: q }, { limit, cursor });
        return {
          status: 200,
          // One literal per item (the public fields), cheaper than a rest spread on the hot read.
          body: {
            items: page.items.map((d) => ({
              id: d.id,
              title: d.title,
              excerpt: d.excerpt,
              revision: d.revision,
              analysisStatus: d.analysisStatus,
              analyzedRevision: d.analyzedRevision,
              emotionStatus: d.emotionStatus,
              isNegative: d.isNegative,
              alternativeThought: d.alternativeThought,
              createdAt: d.createdAt,
              updatedAt: d.updatedAt,
            })),
            nextCursor: page.nextCursor,
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/diaries/:id',
      operationId: 'getDiary',
      summary: 'Get one entry with its latest analysis',
      tags: ['diaries'],
      access: 'user',
      params: diaryIdParams,
      responses: { 200: diarySchema },
      errors: [404],
      handler: async ({ principal, params }) => ({ status: 200, body: toResponse(await diaries.get(principal!.userId, params.id)) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/diaries/:id',
      operationId: 'updateDiary',
      summary: 'Change title and/or content: a new revision, analysed again',
      tags: ['diaries'],
      access: 'user',
      params: diaryIdParams,
      body: bodies.patch,
      responses: { 200: diarySchema },
      errors: [404],
      handler: async ({ principal, params, body, meta }) => ({
        status: 200,
        body: toResponse(await diaries.update(principal!.userId, params.id, body, meta.requestId)),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/diaries/:id/reanalyze',
      operationId: 'reanalyzeDiary',
      summary: 'Request a fresh analysis of the entry (a new revision)',
      tags: ['diaries'],
      access: 'user',
      params: diaryIdParams,
      responses: { 202: diarySchema },
      errors: [404],
      handler: async ({ principal, params, meta }) => ({
        status: 202,
        body: toResponse(await diaries.reanalyze(principal!.userId, params.id, meta.requestId)),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/diaries/:id',
      operationId: 'deleteDiary',
      summary: 'Delete an entry with its analyses and notifications',
      tags: ['diaries'],
      access: 'user',
      params: diaryIdParams,
      responses: { 204: null },
      errors: [404],
      handler: async ({ principal, params }) => {
        await diaries.remove(principal!.userId, params.id);
        return { status: 204 };
      },
    }),
  ];
}
