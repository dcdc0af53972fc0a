print("ringside: under construction")
