"""SELF-INSTRUCT: instruction generation, classification identification, instance generation
and filtering, as a resumable, auditable run (run.py); replay of a reference run (replay.py).
Candidates, their decisions and reasons and the one ROUGE-L rule live in candidates.py; a run's
settings and its typed read-back in config.py.
"""
