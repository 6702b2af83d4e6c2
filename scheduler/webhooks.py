"""Twilio webhooks: inbound texts and delivery status callbacks."""
from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/sms")
