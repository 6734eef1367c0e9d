"""Tests for bot.storage."""
