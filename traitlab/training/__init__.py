"""Training: midtraining, SFT with baseline mixing, DPO and bounded DPO."""
