"""The POS benchmark's reference: a bare Flask app on the same database answering each request with one SELECT by
primary key (what any JSON API on this stack costs at least)."""

from __future__ import annotations

import os

from flask import Flask, jsonify
from sqlalchemy import create_engine, text

from bot.settings import normalise_database_url

app = Flask(__name__)
engine = create_engine(normalise_database_url(os.environ["DATABASE_URL"]))


@app.get("/healthz")
def health() -> str:
    return "ok"


@app.route("/ref/<number>", methods=["GET", "POST"])
def member(number: str) -> object:
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT member_number, name, points FROM members m LEFT JOIN member_balances b ON b.member_id = m.id "
                 "WHERE member_number = :number"),
            {"number": number},
        ).first()  # fmt: skip
    return jsonify({"member_number": number, "found": row is not None})
