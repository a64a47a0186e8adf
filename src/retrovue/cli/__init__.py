def main() -> None:
    print("retrovue")
