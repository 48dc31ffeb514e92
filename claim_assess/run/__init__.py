"""One run of the engine, in three steps a test can call one by one:

    prepared = prepare(settings)                  read and check the dataset, choose claims, settings.json
    executed = execute(prepared, console)         Ray, the endpoint, the actors, the claim loop, the journal
    summary  = finalize(prepared, executed)       result files, summary.json, report.html

``run_assessment`` runs all three and turns the outcome into an exit code. Settings, the workspace layout, the
journal, the timeline, the summary record, the live display and signal handling each have their own module;
Ray is reached only through ``claim_assess.actors``.
"""
