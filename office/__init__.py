"""Tongban: 通办."""
