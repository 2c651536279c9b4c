"""消息: work groups, chat, real-time delivery."""
