"""The official's own pages: committing to policies, reporting progress, choosing who sees it.

Its blueprint keeps the name of what it serves (`commitments`, under /commitments/): the
package sits above `commitments`, the domain it shows, beside help requests and the
reference layers' facts that the same pages bring in.
"""
