/*
 * The OpenAPI 3.1 document of chimed's API as one C string (kept valid JSON;
 * tests parse it and check that every route of router.c is described).
 */
extern const char chime__openapi_json[];

const char chime__openapi_json[] =
        "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"chime\",\"version\":\"0.1.0\"},\"paths\":{}}";
