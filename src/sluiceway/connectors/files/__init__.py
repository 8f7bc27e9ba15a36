"""File source and destination: CSV, JSON lines and Parquet through Arrow's readers/writers.

How each canonical type is written ("quoted": the CSV field is enclosed in double quotes):

=====================  ===================  ================================  ==================
Arrow type             Parquet              CSV                               JSON lines
=====================  ===================  ================================  ==================
bool                   BOOLEAN              true / false                      true / false
int16 / int32 / int64  INT32 / INT64        digits                            number
float32 / float64      FLOAT / DOUBLE       shortest round-trip text,         number; "NaN",
                                            nan, inf, -inf                    "Infinity" strings
decimal128(p, s)       DECIMAL(p, s)        exact plain text with s digits    number, same text
                                            (quoted): "0.0000000001"
numeric (tagged text)  STRING + Arrow tag   the exact text (quoted)           number, same text
string                 STRING               quoted; "" is the empty string    string
binary                 BINARY               base64 (quoted)                   base64 string
date32                 DATE                 2024-02-29                        "2024-02-29"
time64[us]             TIME(us)             23:59:59.999999                   "23:59:59.999999"
timestamp[us]          TIMESTAMP(us)        "2024-02-29T18:29:59.123456"      same, string
timestamp[us, UTC]     TIMESTAMP(us, UTC)   "2024-02-29T18:29:59.123456       same, string
                                            +00:00"
uuid                   FIXED_LEN(16) UUID   "f81d4fae-7dec-11d0-a765-..."     same, string
json                   STRING JSON          the document's text (quoted)      the text, a string
list<T>                LIST                 JSON array text (quoted)          array
NULL                   null                 empty field, unquoted             null
=====================  ===================  ================================  ==================

Parquet files carry the Arrow schema, so every type reads back exactly as written. The text
formats read back by inference (``source``) or exactly with a ``schema`` override (uuid,
binary, json, ...); each written set's manifest records the exact Arrow schema.
"""
