"""SELF-INSTRUCT: instruction generation, classification identification, instance generation
and filtering, as a resumable, auditable run (run.py); replay of a reference run (replay.py).
"""
