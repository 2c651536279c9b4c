"""流程引擎: the route engine every case kind runs on (发文, 收文, 办事). Imports ``office`` only."""
