"""The clinic API's OpenAPI 3.1 description, served at GET /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from clinic.outcomes import ACTIONS
from storage.values import CHANNELS

_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}
_ROW_ERROR = {
    "type": "object",
    "properties": {
        "row": {"type": "integer", "description": "spreadsheet row; the header is row 1"},
        "column": {"type": ["string", "null"]},
        "message": {"type": "string"},
    },
    "required": ["row", "column", "message"],
}
_ENROLLMENT = {
    "type": "object",
    "properties": {
        "dry_run": {"type": "boolean"},
        "rows": {"type": "integer"},
        "blank_rows": {"type": "integer", "description": "blank rows skipped"},
        "created": {"type": "integer"},
        "updated": {"type": "integer"},
        "unchanged": {"type": "integer"},
        "rejected": {"type": "integer"},
        "skipped": {
            "type": "integer",
            "description": "rows of other services, and cancelled bookings never imported",
        },
        "actions": {
            "type": "object",
            "description": "rows by what they did to a treatment",
            "properties": {action: {"type": "integer"} for action in ACTIONS},
        },
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/RowError"}},
        "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/RowError"}},
        "skipped_rows": {
            "type": "array",
            "description": "why each skipped row was left alone (the column it concerns)",
            "items": {"$ref": "#/components/schemas/RowError"},
        },
        "patients": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "row": {"type": "integer"},
                    "external_id": {"type": "string"},
                    "status": {"enum": ["created", "updated", "unchanged"]},
                    "action": {"enum": list(ACTIONS)},
                    "invite_url": {"type": ["string", "null"], "format": "uri"},
                },
            },
        },
        "invite_links": {
            "type": "boolean",
            "description": "false when no Telegram bot username is configured",
        },
    },
    "required": ["created", "updated", "unchanged", "rejected", "errors", "patients"],
}
_PATIENT = {
    "type": "object",
    "properties": {
        "external_id": {"type": "string"},
        "first_name": {"type": ["string", "null"]},
        "phone": {"type": ["string", "null"], "description": "E.164"},
        "telegram_linked": {"type": "boolean"},
        "timezone": {"type": "string"},
        "language": {"type": "string"},
        "channel": {"enum": list(CHANNELS)},
        "paused": {"type": "boolean"},
        "sms_opted_out": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"},
        "erased_at": {"type": ["string", "null"], "format": "date-time"},
        "treatments": {"type": "array", "items": {"type": "object"}},
        "reminders": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "milestone": {"type": "string"},
                    "channel": {"type": "string"},
                    "due_at": {"type": "string", "format": "date-time"},
                    "expires_at": {"type": "string", "format": "date-time"},
                    "status": {"type": "string"},
                    "attempts": {"type": "integer"},
                    "sent_at": {"type": ["string", "null"], "format": "date-time"},
                },
            },
        },
    },
}


def _json(ref: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


_UNAUTHORIZED = {"description": "missing or wrong API key", **_json("Error")}
_THROTTLED = {"description": "too many failed authentications (see Retry-After)", **_json("Error")}
_EXTERNAL_ID = {
    "name": "external_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "the clinic's own id for the patient, as in the CSV",
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "aftercare clinic API",
        "version": "1",
        "description": "Bulk enrollment and patient records for one clinic per API key.",
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"clinicKey": []}],
    "paths": {
        "/enrollments": {
            "post": {
                "summary": "Enroll patients from a CSV file (upsert by external_id)",
                "parameters": [
                    {"name": "dry_run", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "reissue_invites", "in": "query", "schema": {"type": "boolean"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "text/csv": {"schema": {"type": "string"}},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {"file": {"type": "string", "format": "binary"}},
                            }
                        },
                    },
                },
                "responses": {
                    "200": {"description": "the file was read", **_json("Enrollment")},
                    "400": {"description": "a multipart form with no file", **_json("Error")},
                    "401": _UNAUTHORIZED,
                    "413": {"description": "the file is too large", **_json("Error")},
                    "415": {"description": "not CSV or multipart", **_json("Error")},
                    "422": {"description": "nothing in the file could be read", **_json("Error")},
                    "429": _THROTTLED,
                },
            }
        },
        "/patients/{external_id}": {
            "parameters": [_EXTERNAL_ID],
            "get": {
                "summary": "A patient with treatments and reminders (due times, statuses)",
                "responses": {
                    "200": {"description": "the patient", **_json("Patient")},
                    "401": _UNAUTHORIZED,
                    "404": {"description": "no such patient in this clinic", **_json("Error")},
                    "429": _THROTTLED,
                },
            },
            "delete": {
                "summary": "Erase the patient's personal data and cancel pending reminders",
                "responses": {
                    "200": {"description": "erased (repeating is harmless)"},
                    "401": _UNAUTHORIZED,
                    "404": {"description": "no such patient in this clinic", **_json("Error")},
                    "429": _THROTTLED,
                },
            },
        },
    },
    "components": {
        "securitySchemes": {"clinicKey": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": _ERROR,
            "RowError": _ROW_ERROR,
            "Enrollment": _ENROLLMENT,
            "Patient": _PATIENT,
        },
    },
}
