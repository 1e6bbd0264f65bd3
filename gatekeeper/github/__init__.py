"""Report a pull request's findings to GitHub: parse, filter by diff, publish (as reviewdog).

Flat modules, one job each: `context` reads the Actions environment, `escape` makes scanned
text safe for Markdown and workflow commands, `suggest` turns a policy fix into a one-line
suggestion, `plan` decides what goes where, `render` produces Markdown, `client` talks to the
REST API through PyGithub with retries, `workflow` writes outputs/job summary/annotations and
`publish` runs it all, degrading to the job summary when the token cannot write.
"""
