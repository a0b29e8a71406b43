"""Replaying a recorded run: exactly (`exact`), or under changed inputs (`what_if`), its
decisions compared with the recording's (`compare`)."""
