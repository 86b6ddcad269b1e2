from django.http import HttpResponse

def home(request): return HttpResponse("home")
api_list = api_detail = operation_detail = product_list = product_detail = home
