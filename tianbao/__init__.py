"""数据填报: collecting data from subordinate units once and reusing it (一数一源, 一次录入、多方共用),
with the burden on the grassroots measured."""
