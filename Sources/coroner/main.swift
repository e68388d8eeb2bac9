print("coroner")
